package rules

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrAmbiguousPath is wrapped by the errors of [CanonicalPath] and [PathResource]: a
// request target that has no one meaning (an encoded "/" or "\", a ";" parameter, a
// control character, an absolute-form target...) or a Micro-style path whose names
// break the identifier patterns. Such a request is refused (400), whatever the rules say.
var ErrAmbiguousPath = errors.New("ambiguous request path")

func refused(target, reason string) error {
	return fmt.Errorf("%w %q: %s", ErrAmbiguousPath, target, reason)
}

// CanonicalPath is the one canonical form of a request target, as it was sent on the
// request line (use r.RequestURI, not the decoded r.URL.Path): the steps of
// sdk/conformance/paths.json, which the server's gateway endpoint and every SDK follow.
//
// The target must start with "/"; the path ends at the first "?" or "#"; a raw
// character outside printable ASCII, a raw "\" and a raw ";" are refused. Each segment
// is percent-decoded once (valid escapes and UTF-8 only); a decoded "/", "\" or ";" and
// control characters are refused. Empty segments ("//") are dropped, a trailing "/" is
// kept, and dot segments are removed as RFC 3986 section 5.2.4 says (".." never climbs
// above the root; a path ending in "." or ".." ends in "/"). The result is "/" and the
// decoded segments joined by "/", not re-encoded. Errors wrap [ErrAmbiguousPath].
func CanonicalPath(target string) (string, error) {
	if target == "" || target[0] != '/' {
		return "", refused(target, "the target must be a path starting with '/' (no absolute, authority or '*' form)")
	}
	path := target
	if cut := strings.IndexAny(path, "?#"); cut != -1 {
		path = path[:cut]
	}
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c < '!' || c > '~':
			return "", refused(target, "a raw character outside printable ASCII (encode it)")
		case c == '\\':
			return "", refused(target, "a backslash")
		case c == ';':
			return "", refused(target, "a ';' parameter")
		}
	}
	raw := strings.Split(path[1:], "/")
	out := make([]string, 0, len(raw))
	trailing := strings.HasSuffix(path, "/")
	for i, segment := range raw {
		decoded, err := decodeSegment(segment)
		if err != nil {
			return "", refused(target, err.Error())
		}
		switch decoded {
		case "":
			continue
		case ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, decoded)
			continue
		}
		if i == len(raw)-1 {
			trailing = true // a path ending in "." or ".." ends in "/"
		}
	}
	joined := "/" + strings.Join(out, "/")
	if trailing && len(out) > 0 {
		joined += "/"
	}
	return joined, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// decodeSegment percent-decodes one segment, once, refusing what stays ambiguous.
func decodeSegment(segment string) (string, error) {
	if strings.IndexByte(segment, '%') == -1 {
		return segment, nil // printable ASCII without '\' or ';' (checked): nothing to refuse
	}
	buf := make([]byte, 0, len(segment))
	for i := 0; i < len(segment); i++ {
		c := segment[i]
		if c == '%' {
			if i+2 >= len(segment) {
				return "", errors.New("a '%' not followed by two hex digits")
			}
			hi, ok1 := unhex(segment[i+1])
			lo, ok2 := unhex(segment[i+2])
			if !ok1 || !ok2 {
				return "", errors.New("a '%' not followed by two hex digits")
			}
			c = hi<<4 | lo
			i += 2
		}
		buf = append(buf, c)
	}
	if !utf8.Valid(buf) {
		return "", errors.New("an encoded byte sequence that is not UTF-8")
	}
	decoded := string(buf)
	for _, r := range decoded {
		switch {
		case r == '/':
			return "", errors.New("an encoded '/'")
		case r == '\\':
			return "", errors.New("an encoded backslash")
		case r == ';':
			return "", errors.New("an encoded ';'")
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			return "", errors.New("a control character")
		}
	}
	return decoded, nil
}

// isServiceName says whether s matches [A-Za-z0-9][A-Za-z0-9_-]*.
func isServiceName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || (c != '_' && c != '-')) {
			return false
		}
	}
	return s != ""
}

// isEndpointName says whether s matches [A-Za-z][A-Za-z0-9_]*.
func isEndpointName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (i == 0 || !('0' <= c && c <= '9' || c == '_')) {
			return false
		}
	}
	return s != ""
}

// upperFirst upper-cases the first letter of an ASCII identifier.
func upperFirst(s string) string {
	if s != "" && 'a' <= s[0] && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// PathResource is the resource the rules judge a canonical path (from [CanonicalPath])
// as, for the API named host. The Micro convention: a path of 3 or 4 segments starting
// with "v1" is /v1/{service}/{endpoint}, the resource service:{service lower-cased}:
// {Service}.{Endpoint}, or /v1/{service}/{handler}/{method}, service:{service}:
// {Handler}.{Method} (first letter upper-cased, the rest as sent: /v1/orders/list is
// service:orders:Orders.List). Its service must match [A-Za-z0-9][A-Za-z0-9_-]* and
// each endpoint segment [A-Za-z][A-Za-z0-9_]*, or the path is refused (an error
// wrapping [ErrAmbiguousPath]) and never judged as an api path: /v1/orders/delete. or
// /v1/orders/delete%20 cannot step around a rule about Orders.Delete. Any other path is
// api:{host}:{path}. An empty path is "/".
func PathResource(path, host string) (Resource, error) {
	if path == "" {
		path = "/"
	}
	if strings.HasPrefix(path, "/v1/") {
		parts := strings.Split(strings.Trim(path, "/"), "/")
		if len(parts) == 3 || len(parts) == 4 {
			service, rest := parts[1], parts[2:]
			if !isServiceName(service) {
				return Resource{}, refused(path, "a Micro service name is [A-Za-z0-9][A-Za-z0-9_-]*")
			}
			for _, name := range rest {
				if !isEndpointName(name) {
					return Resource{}, refused(path, "a Micro endpoint name is [A-Za-z][A-Za-z0-9_]*")
				}
			}
			handler := upperFirst(service)
			if len(rest) == 2 {
				handler = upperFirst(rest[0])
			}
			return Resource{Type: "service", Name: strings.ToLower(service), Endpoint: handler + "." + upperFirst(rest[len(rest)-1])}, nil
		}
	}
	return Resource{Type: "api", Name: host, Endpoint: path}, nil
}
