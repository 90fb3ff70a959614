// A peer for the benchmarks: a chat hub in the design of gorilla/websocket's own chat example
// (examples/chat: a Hub goroutine owning the clients, a readPump and a writePump per client, a
// send channel of 256 messages), built with Debian's golang-github-gorilla-websocket-dev in
// GOPATH mode by bench/run. Every message a client sends goes to every client, the sender too.
//
// Usage: gorilla_chat -port P   (prints "listening on http://127.0.0.1:P"; WebSocket at /ws)
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

var port = flag.Int("port", 0, "port on 127.0.0.1 (0: any free port)")

func main() {
	flag.Parse()
	listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "gorilla_chat:", err)
		os.Exit(2)
	}
	hub := newHub()
	go hub.run()
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		serveWs(hub, w, r)
	})
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-stop
		os.Exit(0)
	}()
	fmt.Printf("listening on http://%s\n", listener.Addr())
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 3 * time.Second}
	if err := server.Serve(listener); err != nil {
		fmt.Fprintln(os.Stderr, "gorilla_chat:", err)
		os.Exit(2)
	}
}
