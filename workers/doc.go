// Package workers reads <app>_svr.conf (LoadConfig: pysvrkit's worker models, rpc
// worker_type thread or process, self-server dispatch simple or custom with worker_type
// thread, process or process_coroutine) and defines what a self-server handler is
// (SelfFunc, called with its Worker). The service package runs them.
package workers
