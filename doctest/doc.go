// Package doctest holds the tests that keep the docs true to the code.
package doctest
