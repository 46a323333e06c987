package expr

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ValidName reports whether s can name a variable: [A-Za-z_][A-Za-z0-9_]*.
func ValidName(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentChar(s[i]) {
			return false
		}
	}
	return true
}

// ParseBindings reads NAME=VALUE arguments into a map of variable values.
// It rejects a malformed argument or name, a name given twice, and a value
// that is not a finite float64 (NaN and infinities included), so that a
// typo is reported rather than silently ignored. Whether each name is used
// by an expression is Eval's check.
func ParseBindings(args []string) (map[string]float64, error) {
	vals := make(map[string]float64, len(args))
	for _, a := range args {
		name, val, ok := strings.Cut(a, "=")
		if !ok {
			if strings.HasPrefix(a, "-") {
				return nil, fmt.Errorf("%q is not NAME=VALUE (flags go before EXPR)", a)
			}
			return nil, fmt.Errorf("%q is not NAME=VALUE", a)
		}
		if !ValidName(name) {
			return nil, fmt.Errorf("%q in %q is not a valid variable name (letters, digits and _, not starting with a digit)", name, a)
		}
		if _, dup := vals[name]; dup {
			return nil, fmt.Errorf("variable %s is given twice", name)
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return nil, fmt.Errorf("value %q of %s is out of the range of float64", val, name)
			}
			return nil, fmt.Errorf("value %q of %s is not a number", val, name)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("value %q of %s is not a finite number", val, name)
		}
		vals[name] = v
	}
	return vals, nil
}
