// Package workers reads <app>_svr.conf and runs pysvrkit's worker models: self-server
// handlers as supervised goroutines (RunWorker), worker processes as supervised children
// re-executed from the running binary (StartProcs), and the role a child is told to play
// (Role, passed in the environment).
package workers
