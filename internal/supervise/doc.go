// Package supervise keeps a service's workers running: worker processes re-executed from
// the running binary, restarted with backoff when they die and stopped with SIGTERM, then
// SIGKILL (StartProcs, with WaitReady for their start-up reports), and self-server
// handlers as goroutines restarted after an error or a panic (RunWorker).
package supervise
