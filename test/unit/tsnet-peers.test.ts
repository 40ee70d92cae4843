import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deviceJoinMaps, makePeersCollector, peerFamilies } from '../../src/collectors/peers.js';
import type { MetricFamily } from '../../src/exposition/family.js';
import { render } from '../../src/exposition/render.js';
import { parseStatus } from '../../src/tsnet/localapi.js';
import { device } from '../helpers/devices.js';
import { promtoolCheck } from '../helpers/promtool.js';
import { refreshData } from '../helpers/refresh-data.js';

// A LocalAPI status as tailscaled sends it (extra fields kept, to prove they are ignored).
const STATUS = parseStatus({
  Version: '1.103.0',
  TUN: false,
  BackendState: 'Running',
  AuthURL: '',
  TailscaleIPs: ['100.100.1.1'],
  Self: {
    ID: 'nSELFCNTRL',
    HostName: 'tsmetrics',
    DNSName: 'tsmetrics.tail1234.ts.net.',
    Tags: ['tag:exporter'],
    TailscaleIPs: ['100.100.1.1'],
    Online: true,
    PublicKey: 'nodekey:11',
  },
  Peer: {
    'nodekey:cc': {
      // Not in the API list, but its MagicDNS name is: joined by name.
      ID: 'nRENAMEDCNTRL',
      HostName: 'web',
      DNSName: 'web-1.tail1234.ts.net.',
      OS: 'linux',
      TailscaleIPs: ['100.64.0.13'],
      Online: true,
      CurAddr: '',
      Relay: '',
      RxBytes: 5,
      TxBytes: 6,
      LastHandshake: '0001-01-01T00:00:00Z',
      ExitNode: false,
      Active: false,
    },
    'nodekey:aa': {
      ID: 'nGW1CNTRL',
      HostName: 'gateway-1',
      DNSName: 'gateway-1.tail1234.ts.net.',
      OS: 'linux',
      TailscaleIPs: ['100.64.0.11'],
      Tags: ['tag:exporter'],
      Online: true,
      CurAddr: '203.0.113.5:41641',
      Relay: 'fra',
      RxBytes: 123456,
      TxBytes: 654321,
      LastHandshake: '2026-08-01T12:00:00.5Z',
      ExitNode: false,
      Active: true,
      Created: '2026-01-01T00:00:00Z',
    },
    'nodekey:bb': {
      ID: 'nDB1CNTRL',
      HostName: 'db-1',
      DNSName: 'db-1.tail1234.ts.net.',
      OS: 'windows',
      TailscaleIPs: null,
      Tags: null,
      Online: false,
      CurAddr: '',
      Relay: 'nyc',
      RxBytes: 10,
      TxBytes: 20,
      LastHandshake: '2026-08-01T13:00:00+02:00',
      ExitNode: false,
      Active: false,
    },
    'nodekey:dd': {
      // Shared in from another tailnet, unknown to the API list.
      ID: 'nSHAREDCNTRL',
      HostName: 'guest',
      DNSName: 'guest.other-tailnet.ts.net.',
      Online: true,
      CurAddr: '198.51.100.7:41641',
      Relay: 'ams',
      RxBytes: 1,
      TxBytes: 2,
      LastHandshake: 'garbage',
    },
    'nodekey:ee': 'not an object: dropped',
  },
});

const DEVICES = [
  { id: '1001', nodeId: 'nGW1CNTRL', name: 'gateway-1.tail1234.ts.net' },
  { id: '1002', nodeId: 'nDB1CNTRL', name: 'db-1.tail1234.ts.net' },
  { id: '1003', nodeId: 'nWEB1CNTRL', name: 'web-1.tail1234.ts.net' },
];

function values(families: readonly MetricFamily[], name: string): Map<string, number> {
  const family = families.find((f) => f.name === name);
  assert.ok(family, `family ${name} missing`);
  return new Map(family.samples.map((s) => [JSON.stringify(s.labels), s.value]));
}

const gw = { device_id: '1001', device_name: 'gateway-1.tail1234.ts.net' };
const db = { device_id: '1002', device_name: 'db-1.tail1234.ts.net' };
const web = { device_id: '1003', device_name: 'web-1.tail1234.ts.net' };
const guest = { device_id: 'nSHAREDCNTRL', device_name: 'guest.other-tailnet.ts.net' };
const key = (labels: Record<string, string>) => JSON.stringify(labels);

test('peer families join the API device list by stable node ID, then by MagicDNS name', () => {
  const { idByNodeId, nameByNodeId } = deviceJoinMaps(DEVICES);
  const families = peerFamilies(STATUS, 1_790_000_000, idByNodeId, nameByNodeId);

  assert.deepEqual(
    values(families, 'tailscale_peer_online'),
    new Map([
      [key(gw), 1],
      [key(db), 0],
      [key(web), 1],
      [key(guest), 1],
    ]),
  );
  // Direct: CurAddr set. Relayed: CurAddr empty, Relay set. No path at all (web): absent, never 0.
  assert.deepEqual(
    values(families, 'tailscale_peer_direct'),
    new Map([
      [key({ ...gw, derp_region: 'fra' }), 1],
      [key({ ...db, derp_region: 'nyc' }), 0],
      [key({ ...guest, derp_region: 'ams' }), 1],
    ]),
  );
  assert.equal(values(families, 'tailscale_peer_rx_bytes_total').get(key(gw)), 123456);
  assert.equal(values(families, 'tailscale_peer_tx_bytes_total').get(key(gw)), 654321);
  assert.equal(values(families, 'tailscale_peer_rx_bytes_total').get(key(db)), 10);
  // The zero time and an unparsable time are absent.
  assert.deepEqual(
    values(families, 'tailscale_peer_last_handshake_timestamp_seconds'),
    new Map([
      [key(gw), Date.UTC(2026, 7, 1, 12, 0, 0) / 1000 + 0.5],
      [key(db), Date.UTC(2026, 7, 1, 11, 0, 0) / 1000],
    ]),
  );
  assert.deepEqual(values(families, 'tsmetrics_tsnet_up'), new Map([['{}', 1]]));
  for (const f of families) assert.ok(f.type === (f.name.endsWith('_total') ? 'counter' : 'gauge'), f.name);
});

test('without an API device list, peers are labelled with their own node ID and MagicDNS name', () => {
  const families = peerFamilies(STATUS, 0, new Map(), new Map());
  const online = values(families, 'tailscale_peer_online');
  assert.equal(online.get(key({ device_id: 'nGW1CNTRL', device_name: 'gateway-1.tail1234.ts.net' })), 1);
  assert.equal(online.size, 4);
});

test('tsmetrics_tsnet_up: from the supervisor when given, else from BackendState; no status, no peers', () => {
  assert.deepEqual(
    values(peerFamilies(STATUS, 0, new Map(), new Map(), { up: false }), 'tsmetrics_tsnet_up'),
    new Map([['{}', 0]]),
  );
  const starting = parseStatus({ BackendState: 'Starting', Self: null, Peer: null });
  const families = peerFamilies(starting, 0, new Map(), new Map());
  assert.deepEqual(values(families, 'tsmetrics_tsnet_up'), new Map([['{}', 0]]));
  assert.equal(values(families, 'tailscale_peer_online').size, 0);
  const down = peerFamilies(undefined, 0, new Map(), new Map());
  assert.deepEqual(
    down.map((f) => f.name),
    ['tsmetrics_tsnet_up'],
  );
  assert.equal(down[0]!.samples[0]!.value, 0);
});

test('the peer families render as exposition text promtool accepts without lint findings', () => {
  const { idByNodeId, nameByNodeId } = deviceJoinMaps(DEVICES);
  const text = render(peerFamilies(STATUS, 0, idByNodeId, nameByNodeId)).text;
  assert.match(text, /^# TYPE tailscale_peer_rx_bytes_total counter$/m);
  assert.match(
    text,
    /^tailscale_peer_direct\{device_id="1001",device_name="gateway-1\.tail1234\.ts\.net",derp_region="fra"\} 1$/m,
  );
  assert.match(text, /^tsmetrics_tsnet_up 1$/m);
  assert.deepEqual(promtoolCheck(text), []);
});

test('LocalAPI status validation: tolerant field by field, BackendState required', () => {
  const s = parseStatus({
    BackendState: 'NeedsLogin',
    AuthURL: 'https://login.tailscale.com/a/x',
    Self: { ID: 5, Tags: 'tag:x' },
    Peer: { k: { ID: 'n1', RxBytes: 'many' } },
  });
  assert.equal(s.AuthURL, 'https://login.tailscale.com/a/x');
  assert.deepEqual(s.Self, { ID: '', HostName: '', DNSName: '', Tags: [], TailscaleIPs: [], Online: false });
  assert.equal(s.Peer.k!.ID, 'n1');
  assert.equal(s.Peer.k!.RxBytes, 0);
  assert.throws(() => parseStatus({ Self: null }));
  assert.throws(() => parseStatus('nope'));
});

test('the peers collector: nothing outside tsnet mode; in tsnet mode the supervisor view joined with the API list', () => {
  assert.deepEqual(makePeersCollector(() => undefined).collect(refreshData(undefined)), []);
  const devices = [device({ id: '1001', nodeId: 'nGW1CNTRL', name: 'gateway-1.tail1234.ts.net' })];
  const families = makePeersCollector(() => ({ up: false, status: STATUS })).collect(refreshData(devices));
  assert.deepEqual(values(families, 'tsmetrics_tsnet_up'), new Map([['{}', 0]]));
  assert.equal(values(families, 'tailscale_peer_online').get(key(gw)), 1);
});

// Peers at the edges of the join: names in other letter case or without the trailing dot, no MagicDNS name,
// no node ID, neither, a negative byte count, and an API device without a node ID.
const EDGES = parseStatus({
  BackendState: 'Running',
  Self: null,
  Peer: {
    'nodekey:f6': { ID: '', HostName: '', DNSName: '', Online: true, CurAddr: '1.2.3.4:1', Relay: 'fra' },
    'nodekey:e5': { ID: 'nNONAME', HostName: '', DNSName: '', Online: false, RxBytes: -5, TxBytes: -1 },
    'nodekey:d4': { ID: '', HostName: 'printer', DNSName: '', Online: true, CurAddr: '', Relay: 'fra' },
    'nodekey:c3': { ID: 'nGHOST', HostName: 'ghost', DNSName: 'ghost.tail1234.ts.net.', Online: true },
    'nodekey:b2': { ID: 'nOTHER', HostName: 'web', DNSName: 'WEB-1.Tail1234.ts.net', Online: true, RxBytes: 7 },
    'nodekey:a1': { ID: 'nGW1CNTRL', HostName: 'gw', DNSName: 'gw.elsewhere.', Online: true, TxBytes: 9 },
  },
});
const EDGE_DEVICES = [
  { id: '1001', nodeId: 'nGW1CNTRL', name: 'gateway-1.tail1234.ts.net' },
  { id: '1003', nodeId: 'nWEB1CNTRL', name: 'Web-1.tail1234.ts.net' },
  { id: '1009', nodeId: '', name: 'ghost.tail1234.ts.net' },
];

test('peers: joined by node ID first, else by MagicDNS name in any letter case; otherwise by their own ID and name, in node key order', () => {
  const { idByNodeId, nameByNodeId } = deviceJoinMaps(EDGE_DEVICES);
  // An API device without a node ID joins nothing.
  assert.deepEqual(
    [...idByNodeId],
    [
      ['nGW1CNTRL', '1001'],
      ['nWEB1CNTRL', '1003'],
    ],
  );
  assert.deepEqual([...nameByNodeId.values()], ['gateway-1.tail1234.ts.net', 'Web-1.tail1234.ts.net']);
  const text = render(peerFamilies(EDGES, 0, idByNodeId, nameByNodeId)).text;
  const gw = 'device_id="1001",device_name="gateway-1.tail1234.ts.net"';
  const web = 'device_id="1003",device_name="Web-1.tail1234.ts.net"';
  const ghost = 'device_id="nGHOST",device_name="ghost.tail1234.ts.net"';
  const printer = 'device_id="printer",device_name="printer"';
  const noName = 'device_id="nNONAME",device_name="nNONAME"';
  assert.deepEqual(text.split('\n'), [
    "# HELP tailscale_peer_direct 1 if the exporter's node reaches the peer directly (LocalAPI Peer.CurAddr), 0 if relayed through the DERP region derp_region (Peer.Relay).",
    '# TYPE tailscale_peer_direct gauge',
    `tailscale_peer_direct{${printer},derp_region="fra"} 0`,
    "# HELP tailscale_peer_online 1 if the peer is connected to the control plane, as the exporter's node sees it (LocalAPI Peer.Online).",
    '# TYPE tailscale_peer_online gauge',
    `tailscale_peer_online{${gw}} 1`,
    `tailscale_peer_online{${web}} 1`,
    `tailscale_peer_online{${ghost}} 1`,
    `tailscale_peer_online{${printer}} 1`,
    `tailscale_peer_online{${noName}} 0`,
    "# HELP tailscale_peer_rx_bytes_total Bytes the exporter's node received from the peer (LocalAPI Peer.RxBytes).",
    '# TYPE tailscale_peer_rx_bytes_total counter',
    `tailscale_peer_rx_bytes_total{${gw}} 0`,
    `tailscale_peer_rx_bytes_total{${web}} 7`,
    `tailscale_peer_rx_bytes_total{${ghost}} 0`,
    `tailscale_peer_rx_bytes_total{${printer}} 0`,
    `tailscale_peer_rx_bytes_total{${noName}} 0`,
    "# HELP tailscale_peer_tx_bytes_total Bytes the exporter's node sent to the peer (LocalAPI Peer.TxBytes).",
    '# TYPE tailscale_peer_tx_bytes_total counter',
    `tailscale_peer_tx_bytes_total{${gw}} 9`,
    `tailscale_peer_tx_bytes_total{${web}} 0`,
    `tailscale_peer_tx_bytes_total{${ghost}} 0`,
    `tailscale_peer_tx_bytes_total{${printer}} 0`,
    `tailscale_peer_tx_bytes_total{${noName}} 0`,
    "# HELP tsmetrics_tsnet_up 1 if the exporter's own tailscaled runs and is logged in (tsnet mode).",
    '# TYPE tsmetrics_tsnet_up gauge',
    'tsmetrics_tsnet_up 1',
    '',
  ]);
});
