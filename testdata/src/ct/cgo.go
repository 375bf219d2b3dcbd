//go:build cgo

package main

// #include <unistd.h>
import "C"

func libcNote() string {
	if C.getpid() > 0 {
		return "(cgo)"
	}
	return "(cgo?)"
}
