package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobackprop/backprop/expr"
)

// The lecture's examples, with the values the page uses.
var examples = []struct{ name, expr, vars string }{
	{"simple", "(x+y)*z", "x=-2 y=5 z=-4"},
	{"neuron", "1/(1+exp(-(w0*x0+w1*x1+w2)))", "w0=2 x0=-1 w1=-3 x1=-2 w2=-3"},
	{"fxy", "(x + sigmoid(y)) / (sigmoid(x) + (x+y)^2)", "x=3 y=-4"},
}

// testServer returns a Server whose panics fail the test.
func testServer(t *testing.T, opts Options) *Server {
	t.Helper()
	var logged bytes.Buffer
	var mu sync.Mutex
	opts.ErrorLog = log.New(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logged.Write(p)
	}), "", 0)
	s := New(opts)
	t.Cleanup(func() {
		if n := s.panics.Load(); n > 0 {
			mu.Lock()
			defer mu.Unlock()
			t.Errorf("the server recovered %d panics:\n%s", n, logged.String())
		}
	})
	return s
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// do serves one request in-process.
func do(s http.Handler, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

func post(s http.Handler, body string) *httptest.ResponseRecorder {
	return do(s, http.MethodPost, "/api/grad", body)
}

func reqBody(exprSrc string, vars any) string {
	b, err := json.Marshal(map[string]any{"expr": exprSrc, "vars": vars})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// wantAPIError checks an error answer: status, JSON content type, and a
// body {"error": ...} containing want, with the given field and column.
func wantAPIError(t *testing.T, rec *httptest.ResponseRecorder, status int, want, field string, col int) apiError {
	t.Helper()
	if rec.Code != status {
		t.Errorf("status %d, want %d (body %s)", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want JSON", ct)
	}
	var e apiError
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", rec.Body, err)
	}
	if e.Error == "" || !strings.Contains(e.Error, want) {
		t.Errorf("error %q, want it to contain %q", e.Error, want)
	}
	if e.Field != field || e.Col != col {
		t.Errorf("error %+v: want field %q, col %d", e, field, col)
	}
	return e
}

func decodeGrad(t *testing.T, rec *httptest.ResponseRecorder) *gradResponse {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, body %s", rec.Code, rec.Body)
	}
	var resp gradResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, rec.Body)
	}
	return &resp
}

func mustEval(t *testing.T, src, vars string) *expr.Result {
	t.Helper()
	ast, err := expr.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := expr.ParseBindings(strings.Fields(vars))
	if err != nil {
		t.Fatal(err)
	}
	res, err := expr.Eval(ast, vals)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestGradAPI(t *testing.T) {
	s := testServer(t, Options{})
	for _, ex := range examples {
		want := mustEval(t, ex.expr, ex.vars)
		wantJSON, _ := want.MarshalJSON()
		vals, _ := expr.ParseBindings(strings.Fields(ex.vars))
		// The same request three ways: values as a string, as numbers,
		// and as numeric strings.
		strs := map[string]string{}
		for k, v := range vals {
			strs[k] = fmt.Sprint(v)
		}
		for _, vars := range []any{ex.vars, vals, strs} {
			rec := post(s, reqBody(ex.expr, vars))
			resp := decodeGrad(t, rec)
			if !bytes.Equal(resp.Result, wantJSON) {
				t.Errorf("%s: result\n%s\nwant\n%s", ex.name, resp.Result, wantJSON)
			}
			if resp.Src != ex.expr || len(resp.Formulas) != len(want.Steps) || len(resp.Vars) != len(want.Vars) {
				t.Fatalf("%s: response %+v", ex.name, resp)
			}
			for k := range want.Steps {
				if resp.Formulas[k] != want.Formula(k) {
					t.Errorf("%s: formula %d %q, want %q", ex.name, k, resp.Formulas[k], want.Formula(k))
				}
			}
			for i, v := range want.Vars {
				got := resp.Vars[i]
				if got.Name != v.Name || got.Value != v.Value || got.Grad != v.Grad || len(got.Sums) == 0 || float64(got.Sums[len(got.Sums)-1].Sum) != v.Grad {
					t.Errorf("%s: var %+v, want %+v", ex.name, got, v)
				}
			}
			if rec.Header().Get("Content-Security-Policy") == "" {
				t.Errorf("no Content-Security-Policy header")
			}
		}
	}
}

// TestGradSums checks the gradients of a variable used several times as
// the backward pass sums them, tick by tick.
func TestGradSums(t *testing.T) {
	s := testServer(t, Options{})
	// Steps: n1 = x*y, n2 = n1 + x, n3 = n2 * x. Backward: tick 1 runs n3
	// (x gets n2 = 6), tick 2 runs n2 (x gets n3's upstream: x = 2), tick
	// 3 runs n1 (x gets y * 2 = 6).
	resp := decodeGrad(t, post(s, reqBody("(x*y + x) * x", "x=2 y=3")))
	x := resp.Vars[0]
	want := []tickSum{{1, 8}, {2, 10}, {3, 16}}
	if x.Name != "x" || fmt.Sprint(x.Sums) != fmt.Sprint(want) || x.Grad != 16 {
		t.Errorf("x = %+v, want sums %v and grad 16", x, want)
	}
	y := resp.Vars[1]
	if fmt.Sprint(y.Sums) != fmt.Sprint([]tickSum{{3, 4}}) {
		t.Errorf("y = %+v", y)
	}
	// Both uses of x in x*x arrive in the same tick; the output itself a
	// variable gets df/df at tick 0.
	resp = decodeGrad(t, post(s, reqBody("x*x", "x=3")))
	if fmt.Sprint(resp.Vars[0].Sums) != fmt.Sprint([]tickSum{{1, 6}}) {
		t.Errorf("x*x: %+v", resp.Vars[0])
	}
	resp = decodeGrad(t, post(s, reqBody("x", "x=3")))
	if fmt.Sprint(resp.Vars[0].Sums) != fmt.Sprint([]tickSum{{0, 1}}) || len(resp.Layout.Edges) != 1 {
		t.Errorf("x: %+v %+v", resp.Vars[0], resp.Layout)
	}
	resp = decodeGrad(t, post(s, reqBody("2^3", nil)))
	if len(resp.Vars) != 0 || len(resp.Formulas) != 1 {
		t.Errorf("2^3: %+v", resp)
	}
}

// TestGradSumsOverflow checks a running sum that overflows on its way to
// a finite total is sent as null, not as a broken answer.
func TestGradSumsOverflow(t *testing.T) {
	use := func(g float64) expr.Step {
		return expr.Step{Inputs: []expr.Operand{{Kind: expr.FromVar, Name: "x"}}, Grad: []float64{g}}
	}
	res := &expr.Result{
		Vars:  []expr.Variable{{Name: "x", Value: 1, Grad: 1e308}},
		Steps: []expr.Step{use(-1e308), use(1e308), use(1e308)},
		Out:   expr.Operand{Kind: expr.FromNode, Step: 2},
	}
	vars := varSums(res)
	b, err := json.Marshal(vars)
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"name":"x","value":1,"grad":1e+308,"sums":[{"tick":1,"sum":1e+308},{"tick":2,"sum":null},{"tick":3,"sum":1e+308}]}]`; string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestGradNullIntermediate(t *testing.T) {
	// d(x^2)/d2 = 9·log(-3) is NaN, sent as null; the result is fine.
	resp := decodeGrad(t, post(testServer(t, Options{}), reqBody("x^2", "x=-3")))
	if !bytes.Contains(resp.Result, []byte(`"local":[-6,null]`)) {
		t.Errorf("result %s", resp.Result)
	}
}

func TestGradErrors(t *testing.T) {
	s := testServer(t, Options{MaxBodyBytes: 4096, MaxExprLen: 100})
	cases := []struct {
		name, body string
		status     int
		want       string
		field      string
		col        int
	}{
		{"bad JSON", `{"expr": "x", `, 400, "JSON ends too early", "", 0},
		{"not JSON", `expr=x`, 400, "not valid JSON", "", 0},
		{"empty body", ``, 400, "empty body", "", 0},
		{"array", `[1,2]`, 400, "must be a JSON object", "", 0},
		{"expr not a string", `{"expr": 3}`, 400, `"expr" must be a string`, "", 0},
		{"unknown field", `{"expr": "x", "vals": {"x": 1}}`, 400, `unknown field "vals"`, "", 0},
		{"trailing data", `{"expr": "x", "vars": "x=1"} {}`, 400, "unexpected data after", "", 0},
		{"syntax error", reqBody("(x+y))*z", "x=1 y=2 z=3"), 400, `unmatched ")" at column 6`, "expr", 6},
		{"empty expression", reqBody("", nil), 400, "empty expression", "expr", 1},
		{"long expression", reqBody(strings.Repeat("x+", 50)+"x", "x=1"), 400, "101 characters long; the limit is 100", "expr", 0},
		{"unknown variable", reqBody("x*2", "x=1 y=2"), 400, "a value is given for y, which the expression does not use", "vars", 0},
		{"missing variable", reqBody("x*y", "x=1"), 400, "variable y has no value", "vars", 0},
		{"bad value", reqBody("x", "x=abc"), 400, `value "abc" of x is not a number`, "vars", 0},
		{"NaN value", reqBody("x", map[string]string{"x": "NaN"}), 400, "not a finite number", "vars", 0},
		{"huge value", `{"expr": "x", "vars": {"x": 1e400}}`, 400, "out of the range of float64", "vars", 0},
		{"bool value", `{"expr": "x", "vars": {"x": true}}`, 400, "must be a number, not true", "vars", 0},
		{"bad name", `{"expr": "x", "vars": {"a=b": 1}}`, 400, "not a valid variable name", "vars", 0},
		{"not a binding", reqBody("x", "x=1 -2"), 400, `"-2" is not NAME=VALUE`, "vars", 0},
		{"vars a number", `{"expr": "x", "vars": 3}`, 400, `"vars" must be an object`, "vars", 0},
		// encoding/json would keep the last of a repeated key; the CLI
		// refuses x=1 x=2, and so does the API, in either form.
		{"variable twice", `{"expr": "x", "vars": {"x": 1, "x": 2}}`, 400, "variable x is given twice", "vars", 0},
		{"variable twice as text", `{"expr": "x", "vars": {"x": "1", "y": {}, "x": "1"}}`, 400, "variable x is given twice", "vars", 0},
		{"binding twice", reqBody("x", "x=1 x=2"), 400, "variable x is given twice", "vars", 0},
		{"expr twice", `{"expr": "x", "vars": {"x": 1}, "expr": "x*2"}`, 400, `key "expr" is given twice`, "", 0},
		{"vars twice", `{"vars": {"x": 1}, "expr": "x", "vars": "x=2"}`, 400, `key "vars" is given twice`, "", 0},
		{"NaN result", reqBody("log(x)", "x=-1"), 400, "the value of the expression is NaN", "expr", 0},
		{"infinite gradient", reqBody("sqrt(x)", "x=0"), 400, "the gradient df/dx is +Inf", "expr", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantAPIError(t, post(s, c.body), c.status, c.want, c.field, c.col)
		})
	}
	// Spaces around "=" and commas are fine in the string form.
	decodeGrad(t, post(s, reqBody("(x+y)*z", "x = -2, y=5; z =-4")))
}

func TestGradBodyLimit(t *testing.T) {
	s := testServer(t, Options{MaxBodyBytes: 1000})
	body := reqBody("x", "x=1"+strings.Repeat(" ", 1000))
	wantAPIError(t, post(s, body), http.StatusRequestEntityTooLarge, "larger than 1000 bytes", "", 0)
	// The default limit leaves room for the longest expression allowed.
	s = testServer(t, Options{})
	src := strings.Repeat("x+", DefaultMaxExprLen/2-1) + "x"
	decodeGrad(t, post(s, reqBody(src, "x=1")))
	wantAPIError(t, post(s, reqBody("x", strings.Repeat("x=1 ", DefaultMaxBodyBytes/4))), http.StatusRequestEntityTooLarge, "larger than", "", 0)
}

func TestRoutes(t *testing.T) {
	s := testServer(t, Options{})
	rec := do(s, http.MethodGet, "/api/grad", "")
	wantAPIError(t, rec, http.StatusMethodNotAllowed, "method GET is not allowed on /api/grad (use POST)", "", 0)
	if rec.Header().Get("Allow") != "POST" {
		t.Errorf("Allow %q", rec.Header().Get("Allow"))
	}
	wantAPIError(t, do(s, http.MethodPost, "/", ""), http.StatusMethodNotAllowed, "method POST is not allowed on /", "", 0)
	wantAPIError(t, do(s, http.MethodDelete, "/static/explorer.js", ""), http.StatusMethodNotAllowed, "not allowed", "", 0)
	wantAPIError(t, do(s, http.MethodGet, "/nope", ""), http.StatusNotFound, "no such page or API: /nope", "", 0)
	wantAPIError(t, do(s, http.MethodPost, "/api/nope", "{}"), http.StatusNotFound, "no such page or API", "", 0)
	wantAPIError(t, do(s, http.MethodGet, "/static/", ""), http.StatusNotFound, "no such file", "", 0)
	wantAPIError(t, do(s, http.MethodGet, "/static/nope.js", ""), http.StatusNotFound, "no such file", "", 0)

	for path, ctype := range map[string]string{
		"/":                    "text/html",
		"/static/explorer.js":  "text/javascript",
		"/static/explorer.css": "text/css",
	} {
		rec := do(s, http.MethodGet, path, "")
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), ctype) || rec.Body.Len() == 0 {
			t.Errorf("GET %s: %d %q, %d bytes", path, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
	}
	if rec := do(s, http.MethodHead, "/", ""); rec.Code != 200 || rec.Body.Len() != 0 {
		t.Errorf("HEAD /: %d, %d bytes", rec.Code, rec.Body.Len())
	}
	// The page loads nothing from elsewhere.
	page := do(s, http.MethodGet, "/", "").Body.String()
	for _, bad := range []string{"http://", "https://", "//cdn", "<script>", "style="} {
		if strings.Contains(page, bad) {
			t.Errorf("the page contains %q", bad)
		}
	}
}

func TestRecoverPanics(t *testing.T) {
	var logged bytes.Buffer
	s := New(Options{ErrorLog: log.New(&logged, "", 0)})
	s.Handle("/boom", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		var m map[string]int
		m["x"]++
	}))
	wantAPIError(t, do(s, http.MethodGet, "/boom", ""), http.StatusInternalServerError, "internal error (a bug, please report it): assignment to entry in nil map", "", 0)
	if s.panics.Load() != 1 || !strings.Contains(logged.String(), "panic serving GET /boom") {
		t.Errorf("panics %d, log %q", s.panics.Load(), logged.String())
	}
}

// TestStateless serves many clients at once, each with its own
// expression, and checks each gets exactly what it gets alone.
func TestStateless(t *testing.T) {
	s := testServer(t, Options{})
	var bodies, want []string
	for i := range 12 {
		ex := examples[i%len(examples)]
		vars := ex.vars
		if i >= len(examples) {
			vars = strings.ReplaceAll(vars, "=-", fmt.Sprintf("=%d", -i))
		}
		b := reqBody(ex.expr, vars)
		bodies = append(bodies, b)
		want = append(want, post(s, b).Body.String())
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for r := range 10 {
				i := (g*7 + r) % len(bodies)
				if got := post(s, bodies[i]).Body.String(); got != want[i] {
					t.Errorf("request %d answered differently under load", i)
					return
				}
			}
		})
	}
	wg.Wait()
}

// randExpr writes a random expression over the variables a, b, c.
func randExpr(rng *rand.Rand, depth int) string {
	if depth == 0 || rng.IntN(4) == 0 {
		switch rng.IntN(3) {
		case 0:
			return fmt.Sprint(rng.IntN(5) + 1)
		default:
			return string(rune('a' + rng.IntN(3)))
		}
	}
	switch rng.IntN(6) {
	case 0:
		return "-" + randExpr(rng, depth-1)
	case 1, 2:
		fn := []string{"exp", "sigmoid", "tanh", "sin", "relu", "abs"}[rng.IntN(6)]
		return fn + "(" + randExpr(rng, depth-1) + ")"
	case 3:
		fn := []string{"max", "min", "pow"}[rng.IntN(3)]
		return fn + "(" + randExpr(rng, depth-1) + ", " + randExpr(rng, depth-1) + ")"
	}
	op := []string{"+", "-", "*", "/", "^"}[rng.IntN(5)]
	return "(" + randExpr(rng, depth-1) + op + randExpr(rng, depth-1) + ")"
}

// randVars gives a value to each variable src uses.
func randVars(src string) string {
	var parts []string
	for i, name := range []string{"a", "b", "c"} {
		if strings.Contains(src, name) {
			parts = append(parts, fmt.Sprintf("%s=%g", name, 0.5+float64(i)*0.75))
		}
	}
	return strings.Join(parts, " ")
}

// junk are the bytes mutate inserts: JSON's and the expression
// language's.
const junk = "{}[]\",:\\x=-^(0e"

// mutate damages a request body at random.
func mutate(rng *rand.Rand, b []byte) []byte {
	b = append([]byte(nil), b...)
	for range 1 + rng.IntN(3) {
		if len(b) == 0 {
			return b
		}
		i := rng.IntN(len(b))
		switch rng.IntN(4) {
		case 0:
			b[i] = byte(rng.IntN(256))
		case 1:
			b = append(b[:i], b[i+1:]...)
		case 2:
			b = append(b[:i], append([]byte{junk[rng.IntN(len(junk))]}, b[i:]...)...)
		case 3:
			b = b[:i]
		}
	}
	return b
}

// checkNoCrash serves a request and checks the answer is a JSON 200 or a
// 4xx with a message, never a 500.
func checkNoCrash(t *testing.T, s *Server, body []byte) {
	t.Helper()
	rec := post(s, string(body))
	switch {
	case rec.Code == http.StatusOK:
		var r gradResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
			t.Fatalf("body %q: 200 with a bad answer: %v", body, err)
		}
	case rec.Code == http.StatusBadRequest || rec.Code == http.StatusRequestEntityTooLarge:
		var e apiError
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
			t.Fatalf("body %q: %d with body %q", body, rec.Code, rec.Body)
		}
	default:
		t.Fatalf("body %q: status %d, %s", body, rec.Code, rec.Body)
	}
	if n := s.panics.Load(); n != 0 {
		t.Fatalf("body %q: the server recovered a panic", body)
	}
}

// TestFuzzedRequests sends random expressions and damaged requests: the
// recovery middleware must never trigger.
func TestFuzzedRequests(t *testing.T) {
	s := testServer(t, Options{MaxBodyBytes: 2048, MaxExprLen: 300})
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1500 {
		src := randExpr(rng, 1+rng.IntN(5))
		body := []byte(reqBody(src, randVars(src)))
		if rng.IntN(3) > 0 {
			body = mutate(rng, body)
		}
		checkNoCrash(t, s, body)
	}
}

func FuzzGradAPI(f *testing.F) {
	for _, ex := range examples {
		f.Add([]byte(reqBody(ex.expr, ex.vars)))
	}
	f.Add([]byte(`{"expr": "x^2", "vars": {"x": -3}}`))
	f.Add([]byte(`{"expr": "log(x)", "vars": {"x": "0"}}`))
	f.Add([]byte(`{"expr": "((((x", "vars": null}`))
	s := New(Options{MaxBodyBytes: 4096, MaxExprLen: 200, ErrorLog: log.New(io.Discard, "", 0)})
	f.Fuzz(func(t *testing.T, body []byte) {
		checkNoCrash(t, s, body)
	})
}

// TestLayout checks the circuit's geometry on the examples and on random
// expressions: every box inside the picture, no two boxes overlapping,
// and the labels of no two wires on top of each other.
func TestLayout(t *testing.T) {
	check := func(src, vars string) {
		t.Helper()
		L := layoutResult(mustEval(t, src, vars))
		ids := map[string]bool{}
		for i, v := range L.Vertices {
			if ids[v.ID] {
				t.Errorf("%s: vertex id %q twice", src, v.ID)
			}
			ids[v.ID] = true
			if v.X-v.W/2 < 0 || v.X+v.W/2 > L.Width || v.Y-v.H/2 < 0 || v.Y+v.H/2 > L.Height {
				t.Errorf("%s: vertex %+v outside the %gx%g picture", src, v, L.Width, L.Height)
			}
			for _, u := range L.Vertices[:i] {
				if math.Abs(u.X-v.X) < (u.W+v.W)/2 && math.Abs(u.Y-v.Y) < (u.H+v.H)/2+4 {
					t.Errorf("%s: vertices %s and %s overlap", src, u.ID, v.ID)
				}
			}
		}
		for i, e := range L.Edges {
			if !ids[e.From] || !ids[e.To] || !strings.HasPrefix(e.D, "M") {
				t.Errorf("%s: bad edge %+v", src, e)
			}
			for _, o := range L.Edges[:i] {
				// Each wire's labels fill labelW × 26px around (LX, LY).
				if math.Abs(o.LX-e.LX) < labelW && math.Abs(o.LY-e.LY) < 26 {
					t.Errorf("%s: labels of wires %s→%s and %s→%s overlap", src, o.From, o.To, e.From, e.To)
				}
			}
			for _, v := range L.Vertices {
				if math.Abs(v.X-e.LX) < (v.W+labelW)/2-1 && math.Abs(v.Y-e.LY) < v.H/2+13 {
					t.Errorf("%s: labels of wire %s→%s cover vertex %s", src, e.From, e.To, v.ID)
				}
			}
		}
	}
	for _, ex := range examples {
		check(ex.expr, ex.vars)
	}
	check("x", "x=1")
	check("3", "")
	check("x*x*x", "x=2")
	check("2*3*x + 1", "x=2")
	rng := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		src := randExpr(rng, 1+rng.IntN(6))
		ast, _ := expr.Parse(src)
		vals, _ := expr.ParseBindings(strings.Fields(randVars(src)))
		if res, err := expr.Eval(ast, vals); err == nil && res != nil {
			check(src, randVars(src))
		}
	}
}

// TestServeShutdown serves on a real socket and stops when the context
// ends, letting a request in flight finish.
func TestServeShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := testServer(t, Options{})
	release := make(chan struct{})
	s.Handle("/slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		io.WriteString(w, "done")
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String()

	resp, err := http.Post(url+"/api/grad", "application/json", strings.NewReader(reqBody("(x+y)*z", "x=-2 y=5 z=-4")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}

	slow := make(chan string, 1)
	go func() {
		resp, err := http.Get(url + "/slow")
		if err != nil {
			slow <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- string(b)
	}()
	time.Sleep(50 * time.Millisecond) // let the request arrive
	cancel()
	time.Sleep(50 * time.Millisecond)
	close(release)
	if got := <-slow; got != "done" {
		t.Errorf("request in flight during shutdown: %q", got)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := http.Get(url + "/"); err == nil {
		t.Errorf("the server still answers after shutdown")
	}
}

func TestHTTPServerTimeouts(t *testing.T) {
	srv := New(Options{}).HTTPServer("127.0.0.1:0")
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 || srv.MaxHeaderBytes <= 0 {
		t.Errorf("server without limits: %+v", srv)
	}
}

func TestDuplicateKey(t *testing.T) {
	for _, c := range []struct {
		body string
		dup  string // the key reported, or "" for none
	}{
		{`{"a": {"k": 1}, "b": {"k": 2}}`, ""},
		{`[{"k": 1}, {"k": 1}]`, ""},
		{`{"k": "k", "v": ["k", "k"]}`, ""},
		{`{"a": {}, "b": [], "c": [[], {}]}`, ""},
		{`{"a": [{"k": 1, "k": 2}]}`, "k"},
		{`{"a": 1, "b": {"a": 2}, "a": 3}`, "a"},
		{`{"vars": {"x": 1, "y": [1, {"x": 2}], "x": 3}}`, "x"},
	} {
		e := duplicateKey([]byte(c.body))
		switch {
		case c.dup == "" && e != nil:
			t.Errorf("%s: %+v, want no error", c.body, e)
		case c.dup != "" && (e == nil || !strings.Contains(e.Error, " "+c.dup+" ") && !strings.Contains(e.Error, `"`+c.dup+`"`)):
			t.Errorf("%s: %+v, want %q given twice", c.body, e, c.dup)
		}
	}
}

// TestInFlightLimit holds MaxInFlight requests in a handler and checks that
// the next one is turned away at once with 503, Retry-After and a JSON
// message, that an event stream is not counted, and that a slot freed is
// used again.
func TestInFlightLimit(t *testing.T) {
	s := testServer(t, Options{MaxInFlight: 2})
	release := make(chan struct{})
	entered := make(chan struct{}, 4)
	hold := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	s.Handle("/hold", hold)
	s.HandleStream("/stream", hold)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); do(s, http.MethodGet, "/hold", "") }()
		<-entered
	}
	rec := do(s, http.MethodPost, "/api/grad", reqBody("x", "x=1"))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("a request past the limit: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	wantAPIError(t, rec, http.StatusServiceUnavailable, "the server is busy (2 requests in flight", "", 0)
	if rec := do(s, http.MethodGet, "/static/explorer.js", ""); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("a page past the limit: %d", rec.Code)
	}
	// A stream is not counted.
	wg.Add(1)
	go func() { defer wg.Done(); do(s, http.MethodGet, "/stream", "") }()
	<-entered
	close(release)
	wg.Wait()
	decodeGrad(t, post(s, reqBody("x", "x=1")))
	if n := s.rejected.Load(); n != 2 {
		t.Errorf("%d requests turned away, want 2", n)
	}
}

func TestMaxOps(t *testing.T) {
	s := testServer(t, Options{MaxOps: 5})
	decodeGrad(t, post(s, reqBody("-(-(x*x+x))+x", "x=2"))) // 5 operations
	wantAPIError(t, post(s, reqBody("-(-(-(x*x+x)))+x", "x=2")), http.StatusBadRequest,
		"the expression has 6 operations; the limit is 5", "expr", 0)
	wantAPIError(t, post(s, reqBody("exp(sin(x))*2+pow(x,3)-1", "x=2")), http.StatusBadRequest,
		"the expression has 6 operations", "expr", 0)
}
