// Command gocheck drives github.com/tonistiigi/go-actions-cache at the version
// BuildKit v0.13 vendors (v1 protocol only) against a cache service, the way
// BuildKit's type=gha exporter/importer use it: Load, Save, SaveMutable, and
// ranged reads of a downloaded entry. It reads ACTIONS_RUNTIME_TOKEN and
// ACTIONS_CACHE_URL (TryEnv), takes a unique key prefix as its only argument,
// prints one line per check and exits non-zero on the first failure.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	actionscache "github.com/tonistiigi/go-actions-cache"
)

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", args...)
	os.Exit(1)
}

func ok(format string, args ...interface{}) {
	fmt.Printf("ok   "+format+"\n", args...)
}

func main() {
	if len(os.Args) != 2 {
		fail("usage: gocheck KEY-PREFIX")
	}
	prefix := os.Args[1]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	c, err := actionscache.TryEnv(actionscache.Opt{})
	if err != nil || c == nil {
		fail("TryEnv: cache=%v err=%v", c, err)
	}
	ok("token scopes %+v", c.Scopes())

	// small chunks so one blob takes several PATCH requests from 4 workers
	actionscache.UploadChunkSize = 256 * 1024

	blobKey := prefix + "buildkit-blob-1-sha256:0123"
	if ce, err := c.Load(ctx, blobKey); err != nil || ce != nil {
		fail("Load before save: entry=%v err=%v", ce, err)
	}
	ok("Load miss")

	data := make([]byte, 1536*1024+7)
	if _, err := rand.Read(data); err != nil {
		fail("rand: %v", err)
	}
	if err := c.Save(ctx, blobKey, actionscache.NewBlob(data)); err != nil {
		fail("Save: %v", err)
	}
	ok("Save %d bytes", len(data))

	err = c.Save(ctx, blobKey, actionscache.NewBlob([]byte("other")))
	if !errors.Is(err, os.ErrExist) {
		fail("second Save: want os.ErrExist, got %v", err)
	}
	ok("second Save is os.ErrExist")

	ce, err := c.Load(ctx, blobKey)
	if err != nil || ce == nil {
		fail("Load after save: entry=%v err=%v", ce, err)
	}
	if ce.Key != blobKey {
		fail("Load returned key %q", ce.Key)
	}
	var buf bytes.Buffer
	if err := ce.WriteTo(ctx, &buf); err != nil {
		fail("WriteTo: %v", err)
	}
	if !bytes.Equal(buf.Bytes(), data) {
		fail("WriteTo returned %d bytes, content differs", buf.Len())
	}
	ok("Load hit scope=%s and WriteTo round-trip", ce.Scope)

	// ReadAt at an offset: a Range request whose Content-Range the client checks
	rac := ce.Download(ctx)
	part := make([]byte, 1000)
	off := int64(1024*1024 + 3)
	if n, err := rac.ReadAt(part, off); (err != nil && err != io.EOF) || n != len(part) {
		fail("ReadAt(%d): n=%d err=%v", off, n, err)
	}
	if !bytes.Equal(part, data[off:off+int64(len(part))]) {
		fail("ReadAt(%d) content differs", off)
	}
	rac.Close()
	ok("ranged ReadAt at %d", off)

	// index handling as the gha exporter does it: SaveMutable(index) twice, the
	// importer then loads the index key without "#" and must get the newest
	index := prefix + "index-gocheck-1-f921bd05"
	for i := 1; i <= 2; i++ {
		payload := []byte(fmt.Sprintf(`{"layers":%d}`, i))
		err := c.SaveMutable(ctx, index, 15*time.Second, func(old *actionscache.Entry) (actionscache.Blob, error) {
			if i == 1 && old != nil {
				return nil, fmt.Errorf("unexpected old index %s", old.Key)
			}
			if i == 2 && (old == nil || old.Key != index+"#1") {
				return nil, fmt.Errorf("old index = %v, want %s#1", old, index)
			}
			return actionscache.NewBlob(payload), nil
		})
		if err != nil {
			fail("SaveMutable #%d: %v", i, err)
		}
	}
	ce, err = c.Load(ctx, index)
	if err != nil || ce == nil || ce.Key != index+"#2" {
		fail("Load(index) = %v, %v; want %s#2", ce, err, index)
	}
	buf.Reset()
	if err := ce.WriteTo(ctx, &buf); err != nil || buf.String() != `{"layers":2}` {
		fail("index content %q err=%v", buf.String(), err)
	}
	ok("SaveMutable twice, Load(index) prefix-matches %s", ce.Key)
	fmt.Println("PASS")
}
