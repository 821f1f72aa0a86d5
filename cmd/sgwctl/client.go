package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/sigpool/sigpool/internal/mgmt"
)

// client talks to a daemon's management API over a Unix socket or TCP.
type client struct {
	base    string
	http    *http.Client // with the request timeout
	stream  *http.Client // without, for the notification stream
	timeout time.Duration
}

func newClient(socket, addr string, timeout time.Duration) *client {
	tr := &http.Transport{}
	base := "http://" + addr
	if addr == "" {
		base = "http://sigpool"
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		}
	}
	return &client{
		base:    base,
		http:    &http.Client{Transport: tr, Timeout: timeout},
		stream:  &http.Client{Transport: tr},
		timeout: timeout,
	}
}

// apiError is an error answer of the API.
type apiError struct {
	Code int
	Info string
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.Info, e.Code) }

// do sends a request and returns the body of a 2xx answer.
func (c *client) do(ctx context.Context, method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		var e mgmt.ErrorResponse
		if json.Unmarshal(b, &e) == nil && e.Error.ErrorInfo != "" {
			return nil, &apiError{resp.StatusCode, e.Error.ErrorInfo}
		}
		return nil, &apiError{resp.StatusCode, string(bytes.TrimSpace(b))}
	}
	return b, nil
}

// getJSON fetches path; out receives the decoded answer, raw the bytes.
func (c *client) getJSON(ctx context.Context, path string, out any) ([]byte, error) {
	b, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return nil, fmt.Errorf("decoding %s: %w", path, err)
		}
	}
	return b, nil
}
