package sctp

import "context"

// Kernel is the Transport over the kernel's SCTP, with one configuration
// for every endpoint it opens.
type Kernel struct {
	Config Config
}

var _ Transport = Kernel{}

// Listen implements Transport with Listen.
func (k Kernel) Listen(laddr Addr) (Listener, error) {
	l, err := Listen(k.Config, laddr)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// Dial implements Transport with Dial.
func (k Kernel) Dial(ctx context.Context, laddr, raddr Addr) (Association, error) {
	c, err := Dial(ctx, k.Config, laddr, raddr)
	if err != nil {
		return nil, err
	}
	return c, nil
}
