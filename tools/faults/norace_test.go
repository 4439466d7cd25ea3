//go:build !race

package faults

// memSlack scales the memory bounds (1 without the race detector).
const memSlack = 1
