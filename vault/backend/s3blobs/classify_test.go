package s3blobs

import (
	"errors"
	"fmt"
	"testing"

	"cleandrop/vault/backend"

	"github.com/minio/minio-go/v7"
)

// An object store that says it is full (507, MinIO's code, a quota)
// gives backend.ErrNoSpace; a plain 500 (SeaweedFS on a full disk) or a
// refused request does not.
func TestClassify(t *testing.T) {
	for _, c := range []struct {
		resp    minio.ErrorResponse
		noSpace bool
	}{
		{minio.ErrorResponse{StatusCode: 507, Code: "XMinioStorageFull"}, true},
		{minio.ErrorResponse{StatusCode: 507, Code: "InsufficientStorage"}, true},
		{minio.ErrorResponse{StatusCode: 403, Code: "QuotaExceeded"}, true},
		{minio.ErrorResponse{StatusCode: 500, Code: "InternalError"}, false},
		{minio.ErrorResponse{StatusCode: 403, Code: "AccessDenied"}, false},
	} {
		err := classify("s3 upload", fmt.Errorf("wrapped: %w", c.resp))
		if errors.Is(err, backend.ErrNoSpace) != c.noSpace {
			t.Errorf("%d %s: %v", c.resp.StatusCode, c.resp.Code, err)
		}
	}
}
