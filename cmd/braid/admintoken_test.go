package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// adminPost calls POST /-/reload with authorization (none when empty).
func adminPost(t *testing.T, admin, authorization string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+admin+"/-/reload", nil)
	require.NoError(t, err)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestAdminEndpointRequiresItsToken runs braid with BRAID_ADMIN_TOKEN_FILE:
// POST /-/reload without the token, or with another, gets 401 and reloads
// nothing; with it, 200. A token replaced in the file takes effect without
// a restart, and the token never appears in braid's output.
func TestAdminEndpointRequiresItsToken(t *testing.T) {
	file := filepath.Join(t.TempDir(), "admin-token")
	require.NoError(t, os.WriteFile(file, []byte("first-admin-s3cret\n"), 0o600))
	t.Setenv(adminTokenFileEnv, file)
	b := startBraid(t, plainFile{file: filepath.Join(t.TempDir(), "config.yaml")}, false)

	assert.Equal(t, http.StatusUnauthorized, adminPost(t, b.admin, ""))
	assert.Equal(t, http.StatusUnauthorized, adminPost(t, b.admin, "Bearer wrong"))
	assert.Equal(t, http.StatusUnauthorized, adminPost(t, b.admin, "first-admin-s3cret"), "a bearer token, not a bare one")
	assert.Equal(t, 1, b.reloadSuccessful(t), "nothing was reloaded")
	assert.Equal(t, http.StatusOK, adminPost(t, b.admin, "Bearer first-admin-s3cret"))

	require.NoError(t, os.WriteFile(file, []byte("second-admin-s3cret\n"), 0o600))
	assert.Equal(t, http.StatusUnauthorized, adminPost(t, b.admin, "Bearer first-admin-s3cret"))
	assert.Equal(t, http.StatusOK, adminPost(t, b.admin, "Bearer second-admin-s3cret"))

	assert.NotContains(t, b.output.String(), "admin-s3cret")
}

func TestAdminTokenFromEnv(t *testing.T) {
	t.Run("none", func(t *testing.T) {
		tok, err := adminTokenFromEnv()
		require.NoError(t, err)
		assert.False(t, tok.required())
	})
	t.Run("both", func(t *testing.T) {
		t.Setenv(adminTokenEnv, "a")
		t.Setenv(adminTokenFileEnv, "/nowhere")
		_, err := adminTokenFromEnv()
		assert.ErrorContains(t, err, "not both")
	})
	t.Run("file missing", func(t *testing.T) {
		t.Setenv(adminTokenFileEnv, filepath.Join(t.TempDir(), "missing"))
		_, err := adminTokenFromEnv()
		assert.ErrorContains(t, err, "admin token")
	})
	t.Run("file empty", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "empty")
		require.NoError(t, os.WriteFile(f, []byte("\n"), 0o600))
		t.Setenv(adminTokenFileEnv, f)
		_, err := adminTokenFromEnv()
		assert.ErrorContains(t, err, "is empty")
	})
}
