// Package web serves backprop's pages in a browser. The first is the
// explorer: one types a scalar expression and the values of its
// variables, sees its circuit, and steps through the forward pass (values,
// in green) and the backward pass (gradients, in red), each backward step
// showing local gradient × upstream gradient = gradient, as the cs231n
// lecture walks through a circuit.
//
// The server computes, the browser displays: POST /api/grad evaluates the
// expression with package expr on the backprop engine and answers with
// everything the page shows (the expr JSON, the variables' gradients as the
// backward pass sums them, and the circuit's layout); the page only draws
// and steps. The API is stateless, so no client can spoil another's.
//
// Every page and asset is embedded in the binary (web/static): the server
// needs no network and no files.
//
// # Hygiene
//
// Request bodies, expressions and the requests in flight are bounded
// (Options), so memory stays bounded under any load: a request past the
// limit in flight gets 503 with Retry-After, one that is too large gets
// 413 and any other bad request a 4xx, always with a JSON body {"error":
// "..."}. A panic in a handler is a bug; it is logged and
// answered with 500 and a message rather than a dropped connection.
// HTTPServer sets read, write and idle timeouts. Serve shuts down
// gracefully when its context ends.
//
// # Adding a page
//
// A page is a file under static (loaded as /static/NAME) and a route.
// Routes of this package are added in New; a caller adds its own with
// Server.Handle, which wraps them in the same recovery and headers. A
// handler that streams (server-sent events, for a live training page) must
// extend its write deadline with http.ResponseController, since
// HTTPServer's WriteTimeout bounds every response.
package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"
)

//go:embed static
var staticFiles embed.FS

// static is the tree of embedded assets, rooted at web/static.
var static = func() fs.FS {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic("backprop: web: " + err.Error())
	}
	return sub
}()

// Limits the server applies when Options leaves them zero.
const (
	DefaultMaxBodyBytes = 64 << 10
	DefaultMaxExprLen   = 1000
	DefaultMaxOps       = 1000
	DefaultMaxInFlight  = 16
)

// Options configure a Server. The zero value is ready to use.
type Options struct {
	// MaxBodyBytes bounds a request body; a larger one gets 413.
	MaxBodyBytes int64
	// MaxExprLen bounds an expression, in characters; a longer one gets
	// 400. The circuit of a longer expression is too large to read anyway.
	MaxExprLen int
	// MaxOps bounds the operations of an expression; one with more gets
	// 400. With the default MaxExprLen it cannot be reached (a character
	// makes at most one operation); it keeps the work of a request bounded
	// when MaxExprLen is raised.
	MaxOps int
	// MaxInFlight bounds the requests served at once. One past it gets 503
	// with a Retry-After header straight away, before its body is read, so
	// that memory stays bounded under any load: each request's own work is
	// bounded by the limits above. Event streams (Server.HandleStream) are
	// not counted; they bound their clients themselves.
	MaxInFlight int
	// ErrorLog receives the panics the server recovers from; nil means
	// the log package's standard logger.
	ErrorLog *log.Logger
}

// Server is the explorer's HTTP handler. It holds no state between
// requests and may serve any number of them at once.
type Server struct {
	opts     Options
	mux      *http.ServeMux
	handler  http.Handler
	slots    chan struct{} // one token per request in flight
	panics   atomic.Int64  // recovered panics, for the tests
	rejected atomic.Int64  // requests answered 503 for want of a slot
}

// New returns a Server with the explorer's routes:
//
//	GET  /             the explorer page
//	GET  /static/...   embedded assets
//	POST /api/grad     evaluate an expression (see handleGrad)
func New(opts Options) *Server {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxExprLen <= 0 {
		opts.MaxExprLen = DefaultMaxExprLen
	}
	if opts.MaxOps <= 0 {
		opts.MaxOps = DefaultMaxOps
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = DefaultMaxInFlight
	}
	if opts.ErrorLog == nil {
		opts.ErrorLog = log.Default()
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), slots: make(chan struct{}, opts.MaxInFlight)}
	s.handler = s.recoverPanics(secureHeaders(s.mux))

	// Methods are checked by the handlers rather than in the patterns, so
	// that a wrong method gets the same JSON error body as everything else.
	s.Handle("/{$}", methods(servePage("explorer.html"), http.MethodGet, http.MethodHead))
	s.Handle("/static/", methods(http.StripPrefix("/static/", serveStatic()), http.MethodGet, http.MethodHead))
	s.Handle("/api/grad", methods(http.HandlerFunc(s.handleGrad), http.MethodPost))
	s.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, apiError{Error: "no such page or API: " + r.URL.Path})
	}))
	return s
}

// Handle adds a route, in the syntax of http.ServeMux, wrapped in the
// server's panic recovery and security headers, and counted against
// Options.MaxInFlight. It must be called before the server starts serving.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, s.bounded(h)) }

// HandleStream adds a route like Handle, but not counted against
// Options.MaxInFlight: for a response that stays open (server-sent
// events), which would otherwise hold a slot for as long as its client
// stays. Such a handler must bound its clients itself.
func (s *Server) HandleStream(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// retryAfter is what a request turned away for want of a slot is told to
// wait, in seconds: requests here take milliseconds.
const retryAfter = "1"

// bounded serves a request if a slot is free and answers 503 at once
// otherwise. Waiting for a slot would hold the connection and its buffers
// for nothing; a client told to retry holds nothing here.
func (s *Server) bounded(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.slots <- struct{}{}:
		default:
			s.rejected.Add(1)
			w.Header().Set("Retry-After", retryAfter)
			// Nor keep the idle connection, and its buffers, of a client
			// that has nothing more to do here for now.
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusServiceUnavailable, apiError{
				Error: fmt.Sprintf("the server is busy (%d requests in flight, its limit); try again in a second", cap(s.slots)),
			})
			return
		}
		defer func() { <-s.slots }()
		h.ServeHTTP(w, r)
	})
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Timeouts of HTTPServer. Reading a request has a deadline, so a client
// that trickles bytes cannot hold a connection; writing one has too, so a
// client that stops reading cannot.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 120 * time.Second
	shutdownGrace     = 5 * time.Second
)

// HTTPServer returns an http.Server for s on addr, with read, write and
// idle timeouts and a bound on the size of request headers.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          s.opts.ErrorLog,
	}
}

// Serve serves on ln until ctx ends, then shuts down gracefully: it stops
// accepting connections and waits a few seconds for requests in flight
// before closing the rest. It returns nil after a shutdown, and the error
// otherwise. Serve closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := s.HTTPServer(ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close()
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// apiError is the body of every error response.
type apiError struct {
	Error string `json:"error"`
	// Field names the input at fault, "expr" or "vars", so the page can
	// show the message next to it.
	Field string `json:"field,omitempty"`
	// Col is the 1-based column, in characters, of a mistake in the
	// expression.
	Col int `json:"col,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a bug can get here: every value the server sends is finite.
		status = http.StatusInternalServerError
		b, _ = json.Marshal(apiError{Error: "internal error: encoding the response: " + err.Error()})
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, e apiError) { writeJSON(w, status, e) }

// methods answers 405 with an Allow header to any method not in allowed.
func methods(h http.Handler, allowed ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, m := range allowed {
			if r.Method == m {
				h.ServeHTTP(w, r)
				return
			}
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(w, http.StatusMethodNotAllowed, apiError{
			Error: fmt.Sprintf("method %s is not allowed on %s (use %s)", r.Method, r.URL.Path, strings.Join(allowed, " or ")),
		})
	})
}

// secureHeaders keeps the pages to their own origin: no script, style or
// connection from anywhere else, no framing, no MIME sniffing.
func secureHeaders(h http.Handler) http.Handler {
	const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}

// recoverPanics turns a panic in a handler into a 500 with a JSON message
// and a log line, instead of net/http's dropped connection. A panic is a
// bug in the server; the fuzz tests check that none happens.
func (s *Server) recoverPanics(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v) // net/http's own signal to drop the connection
			}
			s.panics.Add(1)
			s.opts.ErrorLog.Printf("backprop: web: panic serving %s %s: %v\n%s", r.Method, r.URL.Path, v, debug.Stack())
			// If the handler wrote headers already, this write is lost and
			// the client sees a truncated response, the best left to do.
			writeError(w, http.StatusInternalServerError, apiError{
				Error: fmt.Sprintf("internal error (a bug, please report it): %v", v),
			})
		}()
		h.ServeHTTP(w, r)
	})
}

// servePage serves one embedded HTML page.
func servePage(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(static, name)
		if err != nil {
			writeError(w, http.StatusInternalServerError, apiError{Error: "internal error: page " + name + " is not embedded"})
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		if r.Method == http.MethodHead {
			return
		}
		w.Write(b)
	})
}

// serveStatic serves the embedded assets, without directory listings.
func serveStatic() http.Handler {
	files := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		if st, err := fs.Stat(static, name); name == "" || err != nil || st.IsDir() {
			writeError(w, http.StatusNotFound, apiError{Error: "no such file: /static/" + name})
			return
		}
		// Embedded files carry no modification time, so nothing would let
		// a browser revalidate; make it ask every time instead.
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
