package testnet

import (
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
)

// The ports the network's nodes and the tests' tor processes listen on
// are chosen here, in [portsLow, portsHigh): below the kernel's range of
// ephemeral ports (from 32768 on Debian), from which every outgoing
// connection takes its port, so that no client can take a port between
// its check here and the bind by tor; and below the range the test
// servers of vault/backend/servers choose from (10000 to 32767), so that
// the two never pick one port at once.
const (
	portsLow  = 2000
	portsHigh = 10000
)

var handedOut sync.Map // ports FreePorts returned in this process

// FreePorts returns k distinct TCP ports on 127.0.0.1 that nobody listens
// on now, none returned before in this process.
func FreePorts(k int) ([]int, error) {
	ports := make([]int, 0, k)
	for tries := 0; len(ports) < k; tries++ {
		if tries == 100*k {
			return nil, errors.New("testnet: no free ports on 127.0.0.1")
		}
		p := portsLow + rand.IntN(portsHigh-portsLow)
		if _, dup := handedOut.LoadOrStore(p, true); dup {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		l.Close()
		ports = append(ports, p)
	}
	return ports, nil
}
