package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.yaml.in/yaml/v3"
)

// TestReadmeListsTheDefaultsListenersAndVariables keeps the README's first
// section true: every listener of the embedded default (its default address)
// is in the table, and every BRAID_* variable the default reads is named.
func TestReadmeListsTheDefaultsListenersAndVariables(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	readme := string(raw)
	start := strings.Index(readme, "## Two commands")
	end := strings.Index(readme[start+1:], "\n## ")
	require.True(t, start >= 0 && end > 0, "the README has a Two commands section")
	section := readme[start : start+1+end]

	for _, v := range regexp.MustCompile(`env:(BRAID_[A-Z_]+)`).FindAllStringSubmatch(string(defaultConfig), -1) {
		assert.Contains(t, section, "`"+v[1]+"`", "the README's Two commands section names %s", v[1])
	}

	// The default's own addresses: each ${env:X:-default} replaced by its
	// default, as `make run` without variables has them.
	resolved := regexp.MustCompile(`\$\{env:[A-Z_]+:-([^}]*)\}`).ReplaceAllString(string(defaultConfig), "$1")
	var m map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(resolved), &m))
	s := describe(confmap.NewFromStringMap(m), true)
	require.NotEmpty(t, s.listeners)
	for _, l := range s.listeners {
		addr := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(l.where, "http://"), "https://"), "/")
		addr = strings.TrimSuffix(addr, "/metrics")
		assert.Contains(t, section, addr, "the README's listener table has %s (%s)", l.what, l.where)
	}
}

// TestReadmeSaysWhatEachMakeTargetNeeds keeps the README's Make targets
// table true: every Makefile target with a `## ` help line has a row, and
// every row says what the target needs.
func TestReadmeSaysWhatEachMakeTargetNeeds(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	readme := string(raw)
	start := strings.Index(readme, "## Make targets")
	require.GreaterOrEqual(t, start, 0, "the README has a Make targets section")
	end := strings.Index(readme[start+1:], "\n## ")
	require.Greater(t, end, 0)
	section := readme[start : start+1+end]

	needs := map[string]string{}
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `make ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		require.Len(t, cells, 3, "a Make targets row has a target, what it does and what it needs: %s", line)
		for _, m := range regexp.MustCompile("`make ([a-z0-9-]+)`").FindAllStringSubmatch(cells[0], -1) {
			needs[m[1]] = strings.TrimSpace(cells[2])
		}
	}

	makefile, err := os.ReadFile("../../Makefile")
	require.NoError(t, err)
	targets := regexp.MustCompile(`(?m)^([a-z0-9-]+):.*## `).FindAllStringSubmatch(string(makefile), -1)
	require.NotEmpty(t, targets)
	for _, m := range targets {
		need, ok := needs[m[1]]
		if assert.True(t, ok, "the README's Make targets table has make %s", m[1]) {
			assert.NotEmpty(t, need, "the README says what make %s needs", m[1])
		}
	}
}
