// A peer for the benchmarks: an echo server written with gorilla/websocket (Debian's
// golang-github-gorilla-websocket-dev, built in GOPATH mode by bench/run), shaped like gorilla's
// own examples/echo. With -ping-period it also sends a heartbeat the way gorilla's chat example
// does (ping every period, read deadline pushed back by each pong), for the idle benchmark.
//
// Usage: gorilla_echo -port P [-ping-period 5s -pong-wait 10s]
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// maxMessage is the same limit as our servers' default --max-message.
const maxMessage = 16 << 20

// writeWait bounds a ping write to a peer that stopped reading.
const writeWait = 10 * time.Second

var (
	port = flag.Int("port", 0, "port on 127.0.0.1 (0: any free port)")
	// pingPeriod must be less than pongWait: a ping has to have time to come back.
	pingPeriod = flag.Duration("ping-period", 0, "ping every client this often (0: never)")
	pongWait   = flag.Duration("pong-wait", 10*time.Second, "drop a client silent this long after a ping")
)

var upgrader = websocket.Upgrader{}

func echo(w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has already answered with an HTTP error
	}
	defer conn.Close()
	conn.SetReadLimit(maxMessage)
	if *pingPeriod > 0 {
		done := make(chan struct{})
		defer close(done)
		conn.SetReadDeadline(time.Now().Add(*pongWait))
		conn.SetPongHandler(func(string) error {
			return conn.SetReadDeadline(time.Now().Add(*pongWait))
		})
		// WriteControl may be called concurrently with WriteMessage (gorilla's concurrency rule).
		go func() {
			ticker := time.NewTicker(*pingPeriod)
			defer ticker.Stop()
			for {
				select {
				case <-ticker.C:
					if conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)) != nil {
						return
					}
				case <-done:
					return
				}
			}
		}()
	}
	for {
		messageType, message, err := conn.ReadMessage()
		if err != nil {
			return
		}
		if conn.WriteMessage(messageType, message) != nil {
			return
		}
	}
}

func main() {
	flag.Parse()
	listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "gorilla_echo:", err)
		os.Exit(2)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-stop
		os.Exit(0)
	}()
	fmt.Printf("listening on http://%s\n", listener.Addr())
	log.Fatal(http.Serve(listener, http.HandlerFunc(echo)))
}
