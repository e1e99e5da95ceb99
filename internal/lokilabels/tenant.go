package lokilabels

import (
	"errors"
	"fmt"
	"strings"
)

// MaxTenantLength is Loki's limit on the length of a tenant ID.
const MaxTenantLength = 150

// ValidateTenant checks a tenant ID (X-Scope-OrgID) as Loki does: at most
// 150 characters from [a-zA-Z0-9!._*'()-], and not "." or "..". The empty
// tenant (no header, single-tenant Loki) is valid.
func ValidateTenant(t string) error {
	if t == "" {
		return nil
	}
	if len(t) > MaxTenantLength {
		return fmt.Errorf("tenant ID is longer than %d characters", MaxTenantLength)
	}
	if t == "." || t == ".." {
		return errors.New(`tenant ID must not be "." or ".."`)
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!-_.*'()", c) >= 0:
		default:
			return fmt.Errorf("tenant ID has a character Loki does not allow at offset %d", i)
		}
	}
	return nil
}
