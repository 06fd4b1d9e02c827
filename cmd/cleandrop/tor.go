package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"cleandrop/onion"
)

func torInstalled(bin string) bool { return onion.Available(bin) }

func torConfig(cfg *Config, logger *slog.Logger) onion.Config {
	tc := onion.Config{
		Dir:            filepath.Join(cfg.DataDir, "tor"),
		Tor:            cfg.Tor,
		ExtraTorrc:     cfg.TorrcExtra,
		PublishTimeout: time.Duration(cfg.PublishTimeoutSeconds) * time.Second,
		Logger:         logger,
	}
	if cfg.Onionbalance != nil {
		tc.OnionbalanceMaster = cfg.Onionbalance.Master
	}
	return tc
}

// startTor starts tor and waits until the onions are published.
func startTor(ctx context.Context, cfg *Config, off *officers, logger *slog.Logger) (*onion.Service, error) {
	tc := torConfig(cfg, logger)
	clients, err := off.clients()
	if err != nil {
		return nil, err
	}
	tc.Clients = clients
	svc, err := onion.Start(ctx, tc)
	if err != nil {
		return nil, hint(fmt.Errorf("tor: %w", err),
			"check the tor log in "+filepath.Join(cfg.DataDir, "tor")+", or pass --no-tor to test on loopback only")
	}
	off.setService(svc, clients)
	if cfg.Store != nil {
		// Officers are added and revoked through any front-end.
		go off.syncClients(ctx)
	}
	return svc, nil
}
