package expr

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tNum
	tIdent
	tPlus
	tMinus
	tStar
	tSlash
	tPow // ^ or **
	tLParen
	tRParen
	tComma
)

type token struct {
	kind tokKind
	text string  // as written
	num  float64 // value of a tNum
	col  int     // 1-based column, counted in characters
}

// describe names a token for an error message.
func (t token) describe() string {
	if t.kind == tEOF {
		return "end of expression"
	}
	return strconv.Quote(t.text)
}

// lexer cuts the source into tokens one at a time, so a 100,000-term sum
// never holds more than one token beyond the parser's position.
type lexer struct {
	src string
	pos int // byte offset of the next character
	col int // 1-based column of the next character
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// advance moves past n bytes of ASCII.
func (l *lexer) advance(n int) {
	l.pos += n
	l.col += n
}

func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) && isSpace(l.src[l.pos]) {
		l.advance(1)
	}
	start, col := l.pos, l.col
	if l.pos >= len(l.src) {
		return token{kind: tEOF, col: col}, nil
	}
	c := l.src[l.pos]
	single := func(k tokKind) (token, error) {
		l.advance(1)
		return token{kind: k, text: l.src[start:l.pos], col: col}, nil
	}
	switch {
	case c == '+':
		return single(tPlus)
	case c == '-':
		return single(tMinus)
	case c == '*':
		if l.pos+1 < len(l.src) && l.src[l.pos+1] == '*' {
			l.advance(2)
			return token{kind: tPow, text: "**", col: col}, nil
		}
		return single(tStar)
	case c == '/':
		return single(tSlash)
	case c == '^':
		return single(tPow)
	case c == '(':
		return single(tLParen)
	case c == ')':
		return single(tRParen)
	case c == ',':
		return single(tComma)
	case isIdentStart(c):
		for l.pos < len(l.src) && isIdentChar(l.src[l.pos]) {
			l.advance(1)
		}
		return token{kind: tIdent, text: l.src[start:l.pos], col: col}, nil
	case isDigit(c) || c == '.':
		return l.number(start, col)
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.pos:])
	what := strconv.QuoteRune(r)
	if r == utf8.RuneError {
		what = fmt.Sprintf("byte 0x%02x", c)
	}
	return token{}, syntaxErr(col, "unexpected character %s", what)
}

// number scans digits [. digits] [(e|E) [+|-] digits], or . digits with
// the same exponent. Anything glued to it that would continue a word (1e,
// 2.5x, 3..4) is reported as one malformed number rather than two tokens,
// which reads better than "unexpected x".
func (l *lexer) number(start, col int) (token, error) {
	digits := func() int {
		n := 0
		for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			l.advance(1)
			n++
		}
		return n
	}
	n := digits()
	if l.pos < len(l.src) && l.src[l.pos] == '.' {
		l.advance(1)
		n += digits()
	}
	ok := n > 0
	if ok && l.pos < len(l.src) && (l.src[l.pos] == 'e' || l.src[l.pos] == 'E') {
		l.advance(1)
		if l.pos < len(l.src) && (l.src[l.pos] == '+' || l.src[l.pos] == '-') {
			l.advance(1)
		}
		if digits() == 0 {
			ok = false
		}
	}
	for l.pos < len(l.src) && (isIdentChar(l.src[l.pos]) || l.src[l.pos] == '.') {
		l.advance(1)
		ok = false
	}
	text := l.src[start:l.pos]
	if !ok {
		return token{}, syntaxErr(col, "malformed number %q", text)
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return token{}, &Error{Col: col, Msg: fmt.Sprintf("number %s is out of the range of float64", text)}
	}
	return token{kind: tNum, text: text, num: v, col: col}, nil
}
