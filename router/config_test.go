package router

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The seed's template: the same address three times is valid.
const seedHashring = `[server]
sum=3
mode=hashring

[server0]
ip=127.0.0.1
port=3000
weight=100

[server1]
ip=127.0.0.1
port=3000
weight=100

[server2]
ip=127.0.0.1
port=3000
weight=100
`

const seedSharding = `[server]
sum=2
mode=sharding
shardsum=1000

[server0]
ip=127.0.0.1
port=3000
ip_bak=127.0.0.1
port_bak=3001
shardbegin=0
shardend=499

[server1]
ip=127.0.0.1
port=3002
ip_bak=127.0.0.1
port_bak=3003
shardbegin=500
shardend=999
`

func TestParseSeedTemplates(t *testing.T) {
	cfg, err := ParseConfig([]byte(seedHashring), "echo_cli.conf")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Mode != ModeHashring || len(cfg.Servers) != 3 {
		t.Fatalf("got %+v", cfg)
	}
	for i, s := range cfg.Servers {
		if s.Addr != "127.0.0.1:3000" || s.Weight != 100 || s.Name != "server"+string(rune('0'+i)) {
			t.Errorf("server %d: %+v", i, s)
		}
	}
	c, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if len(c.view.Load().members) != 3 || len(c.eps) != 1 {
		t.Errorf("want 3 ring members sharing 1 connection, got %d members, %d endpoints", len(c.view.Load().members), len(c.eps))
	}

	cfg, err = ParseConfig([]byte(seedSharding), "echo_cli.conf")
	if err != nil {
		t.Fatal(err)
	}
	want := Server{Name: "server1", Addr: "127.0.0.1:3002", BackupAddr: "127.0.0.1:3003", ShardBegin: 500, ShardEnd: 999}
	if cfg.Mode != ModeSharding || cfg.ShardSum != 1000 || cfg.Servers[1] != want {
		t.Fatalf("got %+v", cfg)
	}
}

func TestParseDefaultsAndOptionalBackup(t *testing.T) {
	cfg, err := ParseConfig([]byte("[server]\nsum=1\nmode=HashRing\n[server0]\nip=::1\nport=7\n"), "x.conf")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Servers[0].Weight != DefaultWeight || cfg.Servers[0].Addr != "[::1]:7" {
		t.Errorf("got %+v", cfg.Servers[0])
	}
	cfg, err = ParseConfig([]byte("[server]\nsum=1\nmode=sharding\nshardsum=4\n[server0]\nip=h\nport=7\nshardbegin=0\nshardend=3\n"), "x.conf")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Servers[0].BackupAddr != "" {
		t.Errorf("backup: %q", cfg.Servers[0].BackupAddr)
	}
}

func TestConfigErrors(t *testing.T) {
	hr := func(servers string) string { return "[server]\nsum=2\nmode=hashring\n" + servers }
	ok0 := "[server0]\nip=127.0.0.1\nport=3000\n"
	ok1 := "[server1]\nip=127.0.0.1\nport=3001\n"
	sh := func(sum int, ranges ...[2]int) string {
		s := "[server]\nmode=sharding\nshardsum=100\nsum=" + itoa(sum) + "\n"
		for i, r := range ranges {
			s += "[server" + itoa(i) + "]\nip=10.0.0.1\nport=" + itoa(4000+i) + "\nshardbegin=" + itoa(r[0]) + "\nshardend=" + itoa(r[1]) + "\n"
		}
		return s
	}
	cases := []struct{ name, conf, want string }{
		{"no [server]", ok0, "c.conf: [server]: missing section"},
		{"no sum", "[server]\nmode=hashring\n", "[server] sum: missing"},
		{"bad sum", "[server]\nsum=x\nmode=hashring\n", `[server] sum: "x" is not an integer`},
		{"zero sum", "[server]\nsum=0\nmode=hashring\n", "[server] sum: 0 is not a server count"},
		{"no mode", "[server]\nsum=1\n" + ok0, "[server] mode: missing"},
		{"unknown mode", "[server]\nsum=1\nmode=random\n" + ok0, `[server] mode: unknown mode "random" (want hashring or sharding)`},
		{"missing server", hr(ok0), "[server1]: missing section ([server] sum=2 needs server0..server1)"},
		{"extra server", hr(ok0 + ok1 + "[server2]\nip=a\nport=1\n"), "[server2]: section does not match [server] sum=2"},
		{"no ip", hr(ok0 + "[server1]\nport=3001\n"), "[server1] ip: missing"},
		{"no port", hr(ok0 + "[server1]\nip=h\n"), "[server1] port: missing"},
		{"bad port", hr(ok0 + "[server1]\nip=h\nport=abc\n"), `[server1] port: "abc" is not a port (want 1..65535)`},
		{"port range", hr(ok0 + "[server1]\nip=h\nport=70000\n"), `[server1] port: "70000" is not a port`},
		{"weight zero", hr(ok0 + ok1 + "weight=0\n"), "[server1] weight: 0 is out of range (want 1..1000)"},
		{"weight negative", hr(ok0 + ok1 + "weight=-5\n"), "[server1] weight: -5 is out of range"},
		{"weight big", hr(ok0 + ok1 + "weight=1001\n"), "[server1] weight: 1001 is out of range"},
		{"weight text", hr(ok0 + ok1 + "weight=heavy\n"), `[server1] weight: "heavy" is not an integer`},
		{"no shardsum", "[server]\nsum=1\nmode=sharding\n", "[server] shardsum: missing"},
		{"zero shardsum", "[server]\nsum=1\nmode=sharding\nshardsum=0\n", "[server] shardsum: 0 is not a shard count"},
		{"no shardbegin", "[server]\nsum=1\nmode=sharding\nshardsum=2\n[server0]\nip=h\nport=1\nshardend=1\n", "[server0] shardbegin: missing"},
		{"backup port only", "[server]\nsum=1\nmode=sharding\nshardsum=2\n[server0]\nip=h\nport=1\nport_bak=2\nshardbegin=0\nshardend=1\n", "[server0] ip_bak: missing"},
		{"backup bad port", "[server]\nsum=1\nmode=sharding\nshardsum=2\n[server0]\nip=h\nport=1\nip_bak=h\nport_bak=0\nshardbegin=0\nshardend=1\n", `[server0] port_bak: "0" is not a port`},
		{"end before begin", sh(1, [2]int{50, 10}), "[server0] shardend: 10 is outside 50..99"},
		{"end past shardsum", sh(1, [2]int{0, 100}), "[server0] shardend: 100 is outside 0..99"},
		{"negative begin", sh(1, [2]int{-1, 99}), "[server0] shardbegin: -1 is outside 0..99"},
		{"overlap", sh(2, [2]int{0, 60}, [2]int{50, 99}), "[server1] shardbegin: shards 50-99 overlap [server0] shards 0-60"},
		{"gap", sh(2, [2]int{0, 40}, [2]int{50, 99}), "shards 41-49 are not covered by any [serverN] (shardsum=100)"},
		{"gap at end", sh(2, [2]int{0, 40}, [2]int{41, 98}), "shards 99-99 are not covered"},
		{"gap at start", sh(1, [2]int{1, 99}), "shards 0-0 are not covered"},
		{"not ini", "[server\n", "c.conf: not an ini file"},
		{"misspelt key", hr(ok0 + ok1 + "wieght=5\n"), "[server1] wieght: unknown key (did you mean weight?)"},
		{"misspelt head key", "[server]\nsum=1\nmode=hashring\nsumm=3\n" + ok0, "[server] summ: unknown key (did you mean sum?)"},
		{"sharding key in hashring", hr(ok0 + ok1 + "shardbegin=0\n"), "[server1] shardbegin: unknown key (known keys here: ip, port, weight;"},
		{"duplicate key", hr(ok0 + ok1 + "port=3002\n"), `[server1] port: given 2 times (values ["3001" "3002"]); give it once`},
		{"duplicate section", hr(ok0 + ok1 + ok1), `[server1] ip: given 2 times`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.conf), "c.conf")
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "router: c.conf: ") {
				t.Fatalf("error %q (%T), want it to contain %q", err, err, tc.want)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestUserSections: sections that are not svrkit's are the user's and stay allowed.
func TestUserSections(t *testing.T) {
	cfg, err := ParseConfig([]byte(seedHashring+"\n[mine]\nanything=1\nwieght=2\n"), "c.conf")
	if err != nil || len(cfg.Servers) != 3 {
		t.Fatalf("%v %+v", err, cfg)
	}
}

func TestLoadConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "echo_cli.conf")
	if err := os.WriteFile(path, []byte(seedHashring), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("[server]\nsum=1\nmode=hashring\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), path+": [server0]: missing section") {
		t.Fatalf("got %v", err)
	}
	if _, err := LoadConfig(path + ".missing"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := New(nil, Options{}); err == nil {
		t.Fatal("nil config accepted")
	}
	_, err := New(&Config{Mode: ModeHashring, Servers: []Server{{Addr: "127.0.0.1:1", Weight: 0}}}, Options{})
	if err == nil || !strings.Contains(err.Error(), "[Servers[0]] weight") {
		t.Fatalf("got %v", err)
	}
	_, err = New(&Config{Mode: ModeHashring, Servers: []Server{{Addr: "nohost", Weight: 1}}}, Options{})
	if err == nil || !strings.Contains(err.Error(), "not host:port") {
		t.Fatalf("got %v", err)
	}
	cfg, _ := ParseConfig([]byte(seedSharding), "s.conf")
	if _, err := New(cfg, Options{}); !errors.Is(err, ErrNoID) {
		t.Fatalf("sharding without id: got %v", err)
	}
}
