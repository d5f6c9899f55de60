// Package abi owns the contract between sockc's compiled objects and any
// loader: the names of programs and of the maps sockc declares itself,
// the prefix reserved for those, the layout of the values of the counters,
// statistics and flow-control maps, the value size of sockmaps and the
// license. The compiler writes objects by these rules and the runtime
// reads objects by them.
package abi
