package loadgen

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestRetryDelayReadsRetryInfo(t *testing.T) {
	withInfo, err := status.New(codes.ResourceExhausted, "busy").
		WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(1500 * time.Millisecond)})
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		err  error
		want time.Duration
	}{
		{"no error", nil, 0},
		{"refusal with RetryInfo", withInfo.Err(), 1500 * time.Millisecond},
		{"refusal without RetryInfo", status.Error(codes.Unavailable, "down"), 0},
		{"not a status", errors.New("boom"), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, retryDelay(tc.err))
		})
	}
}
