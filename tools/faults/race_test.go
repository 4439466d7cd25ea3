//go:build race

package faults

// memSlack scales the memory bounds: the race detector's shadow memory multiplies RSS.
const memSlack = 4
