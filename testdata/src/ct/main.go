// Stand-in for consul-template: a small Go program. Built with
// CGO_ENABLED=0 it is a static binary; with CGO_ENABLED=1 the cgo file below
// makes it a dynamically linked program that needs the C library.
package main

import "os"

func main() {
	os.Stdout.WriteString("consul-template stand-in " + libcNote() + "\n")
}
