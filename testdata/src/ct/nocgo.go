//go:build !cgo

package main

func libcNote() string { return "(pure Go)" }
