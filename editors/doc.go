// Package editors holds editor support for sockc; its tests keep the grammar in step with the language.
package editors
