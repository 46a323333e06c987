package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/gobackprop/backprop/expr"
)

// gradRequest is the body of POST /api/grad:
//
//	{"expr": "(x+y)*z", "vars": {"x": -2, "y": 5, "z": "-4"}}
//	{"expr": "(x+y)*z", "vars": "x=-2 y=5, z=-4"}
//
// vars is an object of numbers or numeric strings, or one string of
// NAME=VALUE pairs separated by spaces, commas or semicolons, as the page's
// input box holds them (the server parses them, as `backprop grad` does).
type gradRequest struct {
	Expr string          `json:"expr"`
	Vars json.RawMessage `json:"vars"`
}

// gradResponse is the answer of POST /api/grad: everything the page
// shows, computed by the engine.
type gradResponse struct {
	Src string `json:"src"`
	// Result is the expr JSON: {"value", "grad", "nodes"} (package expr).
	Result json.RawMessage `json:"result"`
	Vars   []varInfo       `json:"vars"`
	// Formulas[k] is what step k computes, as `backprop grad` writes it:
	// "n1 * z", "exp(n3)".
	Formulas []string `json:"formulas"`
	Layout   *layout  `json:"layout"`
}

// varInfo is a variable with its gradient as the backward pass builds it.
// The backward pass goes in ticks: tick 0 hands the output its gradient
// df/df = 1, and tick j (1 ≤ j ≤ number of steps) runs step N-j. Sums
// holds the variable's gradient after each tick that added to it; its last
// entry is the engine's df/dname.
type varInfo struct {
	Name  string    `json:"name"`
	Value float64   `json:"value"`
	Grad  float64   `json:"grad"`
	Sums  []tickSum `json:"sums"`
}

type tickSum struct {
	Tick int     `json:"tick"`
	Sum  jsonNum `json:"sum"`
}

// jsonNum is a number that may be NaN or infinite, sent as null as the
// expr JSON does. A variable's total gradient is finite (Eval checks), but
// a sum along the way can overflow before a later term brings it back.
type jsonNum float64

// MarshalJSON writes the number, or null when it is not finite.
func (v jsonNum) MarshalJSON() ([]byte, error) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

// UnmarshalJSON reads a number, or null as NaN.
func (v *jsonNum) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*v = jsonNum(math.NaN())
		return nil
	}
	return json.Unmarshal(b, (*float64)(v))
}

// handleGrad serves POST /api/grad. Every mistake in the request is a 4xx
// with a message: 413 for a body over the limit, 400 for everything else
// (malformed JSON, a key given twice, an expression too long or wrong, a
// variable without a value or a value without a variable, a result that is
// not finite).
func (s *Server) handleGrad(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, apiError{
			Error: fmt.Sprintf("request body is larger than %d bytes", tooBig.Limit),
		})
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, apiError{Error: "reading the request: " + err.Error()})
		return
	}
	var req gradRequest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err = dec.Decode(&req)
	if err == nil && len(bytes.TrimSpace(data[dec.InputOffset():])) > 0 {
		err = errors.New("unexpected data after the JSON object")
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, apiError{Error: "bad request: " + describeJSONError(err)})
		return
	}
	if e := duplicateKey(data); e != nil {
		writeError(w, http.StatusBadRequest, *e)
		return
	}
	resp, e := s.grad(&req)
	if e != nil {
		writeError(w, http.StatusBadRequest, *e)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// duplicateKey finds a key given twice in one object of a valid JSON
// body. encoding/json keeps the last value silently; `backprop grad x=1
// x=2` is an error, and so is {"vars": {"x": 1, "x": 2}}, lest the page
// and the command disagree on what was asked. The error names the key and,
// for a variable, the field.
func duplicateKey(data []byte) *apiError {
	dec := json.NewDecoder(bytes.NewReader(data))
	// One entry per open object or array: the keys seen in an object, nil
	// in an array.
	type open struct {
		keys map[string]bool
		name string // the key whose value this is
	}
	var stack []open
	key := "" // the key of the value that comes next
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // io.EOF: the body was decoded already, so nothing else
		}
		// In an object, a string where a key may stand is a key: Token
		// returns keys and values alike, but a value follows its key.
		if n := len(stack); n > 0 && stack[n-1].keys != nil && key == "" {
			if k, ok := tok.(string); ok {
				top := stack[n-1]
				if top.keys[k] {
					if n == 2 && top.name == "vars" {
						return &apiError{Error: fmt.Sprintf("variable %s is given twice", truncate(k, 40)), Field: "vars"}
					}
					return &apiError{Error: fmt.Sprintf("bad request: key %q is given twice", truncate(k, 40))}
				}
				top.keys[k] = true
				key = k
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, open{keys: map[string]bool{}, name: key})
		case json.Delim('['):
			stack = append(stack, open{name: key})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		key = ""
	}
}

// describeJSONError says what is wrong with a request body in terms of the
// request, not of Go's types.
func describeJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return `empty body; send {"expr": "...", "vars": {...}}`
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too early"
	case errors.As(err, &se):
		return fmt.Sprintf("not valid JSON at byte %d: %s", se.Offset, se.Error())
	case errors.As(err, &te):
		if te.Field == "" {
			return `the body must be a JSON object {"expr": "...", "vars": {...}}`
		}
		return fmt.Sprintf("%q must be a %s, not a JSON %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
	}
	// Unknown fields and the like: encoding/json's words are clear.
	return strings.TrimPrefix(err.Error(), "json: ")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "slice":
		return "JSON value"
	}
	return goKind
}

// grad evaluates a request. The error, if any, says which input is at
// fault.
func (s *Server) grad(req *gradRequest) (*gradResponse, *apiError) {
	if n := utf8.RuneCountInString(req.Expr); n > s.opts.MaxExprLen {
		return nil, &apiError{
			Error: fmt.Sprintf("the expression is %d characters long; the limit is %d", n, s.opts.MaxExprLen),
			Field: "expr",
		}
	}
	ast, err := expr.Parse(req.Expr)
	if err != nil {
		var pe *expr.Error
		if errors.As(err, &pe) {
			return nil, &apiError{Error: err.Error(), Field: "expr", Col: pe.Col}
		}
		return nil, &apiError{Error: err.Error(), Field: "expr"}
	}
	if n := countOps(ast); n > s.opts.MaxOps {
		return nil, &apiError{
			Error: fmt.Sprintf("the expression has %d operations; the limit is %d", n, s.opts.MaxOps),
			Field: "expr",
		}
	}
	vals, err := parseVars(req.Vars)
	if err != nil {
		return nil, &apiError{Error: err.Error(), Field: "vars"}
	}
	// expr.Eval checks these too; checking first tells the page which box
	// the message belongs to.
	for _, name := range ast.Vars {
		if _, ok := vals[name]; !ok {
			return nil, &apiError{Error: fmt.Sprintf("variable %s has no value (give %s=VALUE)", name, name), Field: "vars"}
		}
	}
	used := make(map[string]bool, len(ast.Vars))
	for _, name := range ast.Vars {
		used[name] = true
	}
	for _, name := range sortedNames(vals) {
		if !used[name] {
			return nil, &apiError{Error: fmt.Sprintf("a value is given for %s, which the expression does not use", name), Field: "vars"}
		}
	}
	res, err := expr.Eval(ast, vals)
	if err != nil {
		return nil, &apiError{Error: err.Error(), Field: "expr"}
	}
	js, err := res.MarshalJSON()
	if err != nil {
		return nil, &apiError{Error: "internal error: " + err.Error()}
	}
	resp := &gradResponse{
		Src:      res.Src,
		Result:   js,
		Vars:     varSums(res),
		Formulas: make([]string, len(res.Steps)),
		Layout:   layoutResult(res),
	}
	for k := range res.Steps {
		resp.Formulas[k] = res.Formula(k)
	}
	return resp, nil
}

// countOps counts the operations of an expression: every node that is not
// a number or a variable. The walk keeps its own stack, since a long
// expression nests deeply.
func countOps(a *expr.AST) int {
	n := 0
	stack := []*expr.Node{a.Root}
	for len(stack) > 0 {
		nd := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if nd == nil {
			continue
		}
		if nd.Kind != expr.Num && nd.Kind != expr.Var {
			n++
		}
		stack = append(stack, nd.Args...)
	}
	return n
}

// varSums lists the variables with their gradients summed tick by tick,
// in the order the backward pass reaches their uses.
func varSums(r *expr.Result) []varInfo {
	vars := make([]varInfo, len(r.Vars))
	index := make(map[string]int, len(r.Vars))
	for i, v := range r.Vars {
		vars[i] = varInfo{Name: v.Name, Value: v.Value, Grad: v.Grad, Sums: []tickSum{}}
		index[v.Name] = i
	}
	add := func(tick int, name string, g float64) {
		v := &vars[index[name]]
		sum := jsonNum(g)
		if n := len(v.Sums); n > 0 {
			sum += v.Sums[n-1].Sum
			if v.Sums[n-1].Tick == tick {
				// x*x: both uses arrive in the same tick.
				v.Sums[n-1].Sum = sum
				return
			}
		}
		v.Sums = append(v.Sums, tickSum{Tick: tick, Sum: sum})
	}
	if r.Out.Kind == expr.FromVar {
		add(0, r.Out.Name, 1)
	}
	n := len(r.Steps)
	for k := n - 1; k >= 0; k-- {
		st := &r.Steps[k]
		for i, in := range st.Inputs {
			if in.Kind == expr.FromVar {
				add(n-k, in.Name, st.Grad[i])
			}
		}
	}
	// The engine sums a variable's uses in an order of its own; the last
	// sum shown is its result, which may differ in the last bit.
	for i := range vars {
		if m := len(vars[i].Sums); m > 0 {
			vars[i].Sums[m-1].Sum = jsonNum(vars[i].Grad)
		}
	}
	return vars
}

// parseVars reads the vars of a request: null, an object of numbers or
// numeric strings, or a string of NAME=VALUE pairs. Either way the values
// go through expr.ParseBindings, so they are checked as `backprop grad`
// checks its arguments.
func parseVars(raw json.RawMessage) (map[string]float64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return map[string]float64{}, nil
	}
	var bindings []string
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, errors.New(`"vars" is not a valid JSON string`)
		}
		s = spacedEquals.ReplaceAllString(s, "=")
		bindings = strings.FieldsFunc(s, func(r rune) bool {
			return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
		})
		for _, b := range bindings {
			if !strings.Contains(b, "=") {
				return nil, fmt.Errorf("%q is not NAME=VALUE", truncate(b, 40))
			}
		}
	case '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, errors.New(`"vars" must be an object of numbers, like {"x": -2, "y": 5}`)
		}
		for _, name := range sortedKeys(m) {
			if !expr.ValidName(name) {
				return nil, fmt.Errorf("%q is not a valid variable name (letters, digits and _, not starting with a digit)", truncate(name, 40))
			}
			v := bytes.TrimSpace(m[name])
			text := string(v)
			if len(v) > 0 && v[0] == '"' {
				if err := json.Unmarshal(v, &text); err != nil {
					return nil, fmt.Errorf("value of %s is not a valid JSON string", name)
				}
			} else if len(v) == 0 || !(v[0] == '-' || (v[0] >= '0' && v[0] <= '9')) {
				return nil, fmt.Errorf("value of %s must be a number, not %s", name, truncate(text, 20))
			}
			bindings = append(bindings, name+"="+text)
		}
	default:
		return nil, errors.New(`"vars" must be an object such as {"x": -2} or a string such as "x=-2 y=5"`)
	}
	return expr.ParseBindings(bindings)
}

// spacedEquals lets the page's box hold "x = -2, y = 5" as well as "x=-2 y=5".
var spacedEquals = regexp.MustCompile(`\s*=\s*`)

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "..."
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedNames(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
