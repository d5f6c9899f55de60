// Package abi owns the contract between sockc's compiled objects and any
// loader: the names of programs and of the maps sockc declares itself,
// the prefix reserved for those, the layout of the values of the counters,
// statistics and flow-control maps, the value size of sockmaps and the
// license. The compiler writes objects by these rules; a loader in the
// same process gets what the compiler knew as a Manifest, and reads an
// object from a file back by the rules.
package abi
