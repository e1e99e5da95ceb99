package main

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
)

const (
	adminTokenEnv     = "BRAID_ADMIN_TOKEN"
	adminTokenFileEnv = "BRAID_ADMIN_TOKEN_FILE"
)

// adminToken gives the bearer token the admin endpoint requires, from
// BRAID_ADMIN_TOKEN or the file BRAID_ADMIN_TOKEN_FILE names (read again on
// every request, so that a rotated Secret takes effect without a restart).
// Neither set: no token is required.
type adminToken struct {
	literal string
	file    string
}

func adminTokenFromEnv() (adminToken, error) {
	t := adminToken{literal: os.Getenv(adminTokenEnv), file: os.Getenv(adminTokenFileEnv)}
	if t.literal != "" && t.file != "" {
		return adminToken{}, fmt.Errorf("admin token: set %s or %s, not both", adminTokenEnv, adminTokenFileEnv)
	}
	if t.file != "" {
		if _, err := t.current(); err != nil {
			return adminToken{}, err
		}
	}
	return t, nil
}

func (t adminToken) required() bool { return t.literal != "" || t.file != "" }

func (t adminToken) current() (string, error) {
	if t.file == "" {
		return t.literal, nil
	}
	b, err := os.ReadFile(t.file)
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("admin token: %s is empty", t.file)
	}
	return tok, nil
}

// errAdminTokenUnreadable is the answer when the token file cannot be read:
// the endpoint stays closed rather than open.
var errAdminTokenUnreadable = errors.New("admin token unreadable")

// guard refuses requests without "Authorization: Bearer <token>" (401)
// when a token is required. The comparison takes the same time whatever
// the token sent.
func (t adminToken) guard(next http.Handler, refused func()) http.Handler {
	if !t.required() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		want, err := t.current()
		if err != nil {
			http.Error(w, errAdminTokenUnreadable.Error(), http.StatusServiceUnavailable)
			return
		}
		got, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			refused()
			w.Header().Set("WWW-Authenticate", `Bearer realm="braid-admin"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, req)
	})
}
