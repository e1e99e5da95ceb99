package lokireceiver

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/braidobs/braid/internal/lokilabels"
)

// TenantIdentity names the senders of one Loki tenant.
type TenantIdentity struct {
	// Tenant is the Loki tenant (X-Scope-OrgID) these senders write to.
	Tenant string `mapstructure:"tenant"`
	// Tokens are bearer tokens (Authorization: Bearer <token>) of the
	// tenant's senders. Kept opaque: never printed or logged.
	Tokens []configopaque.String `mapstructure:"tokens"`
	// ClientNames are names of the tenant's client certificates, as the
	// subject's common name or a DNS name; they count only once mTLS
	// (tls.client_ca_file) verified the certificate.
	ClientNames []string `mapstructure:"client_names"`
}

func validateTenants(tenants []TenantIdentity) error {
	var errs []error
	tokenOwner := map[configopaque.String]int{}
	nameOwner := map[string]int{}
	for i, ti := range tenants {
		key := fmt.Sprintf("tenants[%d]", i)
		if ti.Tenant == "" {
			errs = append(errs, fmt.Errorf("%s.tenant is required", key))
		} else if err := lokilabels.ValidateTenant(ti.Tenant); err != nil {
			errs = append(errs, fmt.Errorf("%s.tenant %q: %w", key, ti.Tenant, err))
		}
		if len(ti.Tokens) == 0 && len(ti.ClientNames) == 0 {
			errs = append(errs, fmt.Errorf("%s (tenant %q) needs tokens or client_names", key, ti.Tenant))
		}
		// Messages name the position of a token, never its value.
		for j, tok := range ti.Tokens {
			switch prev, dup := tokenOwner[tok]; {
			case tok == "":
				errs = append(errs, fmt.Errorf("%s.tokens[%d] is empty", key, j))
			case dup && prev != i:
				errs = append(errs, fmt.Errorf("%s.tokens[%d] is also a token of tenants[%d]", key, j, prev))
			default:
				tokenOwner[tok] = i
			}
		}
		for _, n := range ti.ClientNames {
			switch prev, dup := nameOwner[n]; {
			case n == "":
				errs = append(errs, fmt.Errorf("%s.client_names has an empty name", key))
			case dup && prev != i:
				errs = append(errs, fmt.Errorf("%s.client_names %q is also a name of tenants[%d]", key, n, prev))
			default:
				nameOwner[n] = i
			}
		}
	}
	return errors.Join(errs...)
}

// tenantResolver gives a request's tenant from who sent it.
type tenantResolver struct {
	tenants []TenantIdentity
}

// The refusals, each with the reason its self-metric counts it under;
// errUnknownIdentity is answered 403, the others 401.
var (
	errNoIdentity      = errors.New("no credentials: a bearer token or a client certificate is required")
	errUnknownToken    = errors.New("the bearer token is not a known sender's")
	errUnknownIdentity = errors.New("the client certificate is not a known sender's")
)

// resolve returns the tenant of the request's sender: the one whose token it
// presents or, without a token, whose name its verified client certificate
// carries.
func (r tenantResolver) resolve(req *http.Request) (string, error) {
	if auth := req.Header.Get("Authorization"); auth != "" {
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok {
			return "", errUnknownToken
		}
		found := ""
		// Every token is compared, so that the time taken does not say
		// which tenant's token came close.
		for _, ti := range r.tenants {
			for _, want := range ti.Tokens {
				if subtle.ConstantTimeCompare([]byte(tok), []byte(want)) == 1 {
					found = ti.Tenant
				}
			}
		}
		if found == "" {
			return "", errUnknownToken
		}
		return found, nil
	}
	if req.TLS == nil || len(req.TLS.VerifiedChains) == 0 {
		return "", errNoIdentity
	}
	cert := req.TLS.VerifiedChains[0][0]
	names := append([]string{cert.Subject.CommonName}, cert.DNSNames...)
	for _, ti := range r.tenants {
		for _, n := range names {
			if n != "" && slices.Contains(ti.ClientNames, n) {
				return ti.Tenant, nil
			}
		}
	}
	return "", errUnknownIdentity
}

// refuse counts a push refused for who sent it.
func (r *lokiReceiver) refuse(req *http.Request, reason string) {
	if r.refusedRequests != nil {
		r.refusedRequests.Add(req.Context(), 1, metric.WithAttributes(attribute.String("reason", reason)))
	}
}

// tenantOf decides the tenant of a push: X-Scope-OrgID as sent when no
// tenants are configured; otherwise the sender's own, which the header may
// repeat but not contradict. The status is the HTTP answer on refusal.
func (r *lokiReceiver) tenantOf(req *http.Request) (tenant string, status int, err error) {
	claimed := req.Header.Get("X-Scope-OrgID")
	if err := lokilabels.ValidateTenant(claimed); err != nil {
		return "", http.StatusBadRequest, fmt.Errorf("X-Scope-OrgID: %w", err)
	}
	if len(r.cfg.Tenants) == 0 {
		return claimed, 0, nil
	}
	own, err := tenantResolver{r.cfg.Tenants}.resolve(req)
	switch {
	case errors.Is(err, errUnknownIdentity):
		r.refuse(req, "unknown_certificate")
		return "", http.StatusForbidden, err
	case errors.Is(err, errUnknownToken):
		r.refuse(req, "unknown_token")
		return "", http.StatusUnauthorized, err
	case err != nil:
		r.refuse(req, "no_identity")
		return "", http.StatusUnauthorized, err
	case claimed != "" && claimed != own:
		r.refuse(req, "other_tenant")
		return "", http.StatusForbidden, fmt.Errorf("X-Scope-OrgID claims tenant %q; this sender writes to %q only", claimed, own)
	}
	return own, 0, nil
}
