package verify

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// cached is a value fetched from the server and kept for ttl.
//
// One fetch at a time; at most one attempt per minInterval (a refresh asked for sooner
// is skipped, or waits for its turn); a failed refresh keeps the last good value. Until
// a first fetch succeeds, get returns an error wrapping ErrUnavailable. (The same
// design as the Python SDK's middleware.)
type cached[V any] struct {
	fetch func(context.Context) (V, error)
	what  string
	ttl   time.Duration
	// ttlOf, when set, is how long a fetched value is kept (instead of ttl): the
	// max-age the server gave it.
	ttlOf       func(V) time.Duration
	minInterval time.Duration
	timeout     time.Duration
	now         func() time.Time
	logf        func(format string, args ...any)

	// refreshLock holds a token while a refresh runs (a mutex that a context can give
	// up waiting for).
	refreshLock chan struct{}

	mu         sync.Mutex // guards the fields below
	value      V
	has        bool
	fetched    time.Time // when the value was asked for
	attempted  time.Time // when the last attempt started
	tried      bool
	generation uint64 // counts the values fetched
	err        error  // the last failure
}

func newCached[V any](what string, fetch func(context.Context) (V, error), ttl, minInterval, timeout time.Duration,
	now func() time.Time, logf func(string, ...any)) *cached[V] {
	if minInterval > ttl {
		minInterval = ttl
	}
	return &cached[V]{
		fetch: fetch, what: what, ttl: ttl, minInterval: minInterval, timeout: timeout, now: now, logf: logf,
		refreshLock: make(chan struct{}, 1),
	}
}

func (c *cached[V]) stale() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ttl := c.ttl
	if c.has && c.ttlOf != nil {
		ttl = c.ttlOf(c.value)
	}
	return !c.has || c.now().Sub(c.fetched) >= ttl
}

func (c *cached[V]) hasValue() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.has
}

func (c *cached[V]) refreshing() bool { return len(c.refreshLock) > 0 }

// get is the value, or an error wrapping ErrUnavailable when no fetch ever succeeded.
func (c *cached[V]) get() (V, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.has {
		if c.err != nil {
			return c.value, fmt.Errorf("%w for its %s: %v", ErrUnavailable, c.what, c.err)
		}
		return c.value, fmt.Errorf("%w for its %s", ErrUnavailable, c.what)
	}
	return c.value, nil
}

// current is the value; a stale one is refreshed first, unless a refresh is under way
// and there is a value (then the stale value is good enough).
func (c *cached[V]) current(ctx context.Context) (V, error) {
	if c.stale() && !(c.hasValue() && c.refreshing()) {
		c.refresh(ctx, false)
	}
	return c.get()
}

// refresh fetches again, unless a fetch under way (waited for) brought a new value, or
// the last attempt was too recent (then it skips, or waits for its turn when
// waitForTurn). Failures are logged, and kept for get's error.
func (c *cached[V]) refresh(ctx context.Context, waitForTurn bool) {
	c.mu.Lock()
	seen := c.generation
	c.mu.Unlock()
	select {
	case c.refreshLock <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-c.refreshLock }()

	c.mu.Lock()
	generation, tried, attempted := c.generation, c.tried, c.attempted
	c.mu.Unlock()
	if generation != seen {
		return
	}
	if tried {
		if tooSoon := attempted.Add(c.minInterval).Sub(c.now()); tooSoon > 0 {
			if !waitForTurn {
				return
			}
			timer := time.NewTimer(tooSoon)
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				return
			}
		}
	}
	started := c.now()
	c.mu.Lock()
	c.attempted, c.tried = started, true
	c.mu.Unlock()

	// The fetch outlives a caller that gives up: others may be waiting for it.
	fctx := context.WithoutCancel(ctx)
	if c.timeout > 0 {
		var cancel context.CancelFunc
		fctx, cancel = context.WithTimeout(fctx, c.timeout)
		defer cancel()
	}
	value, err := c.fetch(fctx)

	if err != nil {
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		c.logf("micro-user: %s not refreshed: %v", c.what, err)
		return
	}
	c.mu.Lock()
	c.value, c.has, c.fetched, c.err = value, true, started, nil
	c.generation++
	c.mu.Unlock()
}
