package cli

import (
	"context"
	"net"

	"github.com/shiftgate/shiftgate/hub"
)

func (e env) serve(ctx context.Context, args []string) error {
	fs := e.flags("serve")
	data := fs.String("data", "", "data directory (created on first start)")
	listen := fs.String("listen", "127.0.0.1:8443", "address to listen on")
	public := fs.String("public-url", "", "URL clients use to reach the hub (default https://LISTEN)")
	logFormat := fs.String("log-format", "json", "log format: json or text")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := parse(fs, args, "data"); err != nil {
		return err
	}
	log, err := e.logger(*logFormat, *logLevel)
	if err != nil {
		return err
	}
	s, err := hub.New(ctx, hub.Config{DataDir: *data, Listen: *listen, PublicURL: *public, Logger: log})
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Serve(ctx, func(net.Addr) {})
}
