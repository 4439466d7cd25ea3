// Package service is what a generated <app>_svr main calls: Main parses the seed's flags
// (-f conf, -d, -s start|stop|restart|status) and runs the master, a worker process, or a
// control command; Start runs a whole service in-process (for tests).
package service
