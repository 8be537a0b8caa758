// The backbone URL policy on its own: schemes, credentials, the host allow-list (ports included), and
// IP literals in every spelling the URL parser accepts, refused unless public or explicitly allowed.
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_BACKBONE_HOSTS, loadConfig } from '../../src/config/index.ts';
import { checkBackboneUrl, refusedRange, SourceRefusedError } from '../../src/sources/backbone-url.ts';

const policy = { hosts: ['storage.googleapis.com', 'models.example:8443', '127.0.0.1:9000', '8.8.8.8', '[::1]:9000'], allowPrivate: [] };
const refusal = (url: string, p: { hosts: readonly string[]; allowPrivate: readonly string[] } = policy) => {
  try {
    checkBackboneUrl(url, p);
  } catch (error) {
    expect(error).toBeInstanceOf(SourceRefusedError);
    return (error as Error).message;
  }
  return null;
};

describe('checkBackboneUrl', () => {
  it('accepts https and http URLs on an allowed host, at the default port or the listed one', () => {
    expect(refusal('https://storage.googleapis.com/tfjs-models/tfjs/mobilenet_v1_1.0_224/model.json')).toBeNull();
    expect(refusal('http://storage.googleapis.com/x/model.json')).toBeNull();
    expect(refusal('https://storage.googleapis.com:443/x/model.json')).toBeNull();
    expect(refusal('https://models.example:8443/m/model.json')).toBeNull();
    expect(refusal('http://8.8.8.8/model.json')).toBeNull();
  });

  it('refuses other hosts and ports, naming the allow-list', () => {
    expect(refusal('https://evil.example/model.json')).toMatch(
      /host evil\.example is not allowed \(GLIMPSE_BACKBONE_HOSTS: storage\.googleapis\.com/,
    );
    expect(refusal('https://storage.googleapis.com:8443/model.json')).toMatch(/not allowed/);
    expect(refusal('https://models.example/m/model.json')).toMatch(/not allowed/);
    expect(refusal('https://storage.googleapis.com.evil.example/model.json')).toMatch(/not allowed/);
  });

  it('refuses other schemes, credentials and non-URLs', () => {
    expect(refusal('file:///etc/passwd')).toMatch(/file: URLs are not fetched/);
    expect(refusal('ftp://storage.googleapis.com/x')).toMatch(/ftp:/);
    expect(refusal('https://user:pw@storage.googleapis.com/x')).toMatch(/credentials/);
    expect(refusal('not a url')).toMatch(/not a valid URL/);
  });

  it('normalises hex, decimal, octal and short IPv4 spellings before checking, and refuses loopback even when listed', () => {
    for (const host of ['127.0.0.1', '0x7f000001', '2130706433', '0177.0.0.1', '127.1', '0x7f.0.0.1']) {
      expect(refusal(`http://${host}:9000/model.json`), host).toBe('127.0.0.1:9000 is a loopback address, which is not fetched');
    }
    expect(refusal('http://[::1]:9000/model.json')).toMatch(/loopback address/);
  });

  it('refuses an IP literal of a non-public range only when it is allowed by host', () => {
    const open = {
      hosts: ['10.1.2.3', '169.254.169.254', '[fd00::1]', '[::ffff:7f00:1]', '224.0.0.1', '100.64.0.1', '0.0.0.0'],
      allowPrivate: [],
    };
    expect(refusal('http://10.1.2.3/m.json', open)).toMatch(/private address/);
    expect(refusal('http://169.254.169.254/latest/meta-data', open)).toMatch(/linkLocal address/);
    expect(refusal('http://[fd00::1]/m.json', open)).toMatch(/uniqueLocal address/);
    expect(refusal('http://[::ffff:127.0.0.1]/m.json', open)).toMatch(/loopback address/); // IPv4-mapped
    expect(refusal('http://224.0.0.1/m.json', open)).toMatch(/multicast address/);
    expect(refusal('http://100.64.0.1/m.json', open)).toMatch(/carrierGradeNat address/);
    expect(refusal('http://0.0.0.0/m.json', open)).toMatch(/unspecified address/);
    expect(refusal('http://10.1.2.3/m.json', { ...open, allowPrivate: ['10.0.0.0/8'] })).toBeNull();
  });
});

describe('refusedRange', () => {
  it('allows public unicast only, unless a range is allowed', () => {
    expect(refusedRange('8.8.8.8', [])).toBeNull();
    expect(refusedRange('2001:4860:4860::8888', [])).toBeNull();
    expect(refusedRange('127.0.0.2', [])).toBe('loopback');
    expect(refusedRange('127.0.0.2', ['127.0.0.1/32'])).toBe('loopback');
    expect(refusedRange('127.0.0.1', ['127.0.0.1/32'])).toBeNull();
    expect(refusedRange('::ffff:192.168.1.1', [])).toBe('private');
    expect(refusedRange('not-an-ip', ['0.0.0.0/0'])).toBe('invalid');
  });
});

describe('configuration', () => {
  it('defaults to the public TF.js model hosts, no private ranges, 512 MiB, 30 s', () => {
    const config = loadConfig({});
    expect(config.backboneDownloads).toEqual({
      hosts: [...DEFAULT_BACKBONE_HOSTS],
      allowPrivate: [],
      maxBytes: 512 * 1024 * 1024,
      timeoutSeconds: 30,
    });
    expect(config.datasetRoots).toEqual([config.dataDir]);
    expect(config.keepCaptionImages).toBe(false);
    expect(config.maxSyntheticImages).toBe(20_000);
  });

  it('parses the lists, normalising host spellings, and refuses malformed entries', () => {
    const config = loadConfig({
      GLIMPSE_BACKBONE_HOSTS: 'Models.Example:8443, 0x7f000001:80 ,[::1]:9000',
      GLIMPSE_BACKBONE_ALLOW_PRIVATE: '127.0.0.1, 10.0.0.0/8',
      GLIMPSE_DATASET_ROOTS: '/srv/data,/mnt/coco/',
    });
    expect(config.backboneDownloads.hosts).toEqual(['models.example:8443', '127.0.0.1', '[::1]:9000']);
    expect(config.backboneDownloads.allowPrivate).toEqual(['127.0.0.1/32', '10.0.0.0/8']);
    expect(config.datasetRoots).toEqual(['/srv/data', '/mnt/coco']);
    expect(loadConfig({ GLIMPSE_BACKBONE_ALLOW_PRIVATE: 'true' }).backboneDownloads.allowPrivate).toEqual(['0.0.0.0/0', '::/0']);
    for (const env of [
      { GLIMPSE_BACKBONE_HOSTS: 'https://models.example' },
      { GLIMPSE_BACKBONE_HOSTS: 'a.example,,b.example' },
      { GLIMPSE_BACKBONE_HOSTS: 'user@a.example' },
      { GLIMPSE_BACKBONE_ALLOW_PRIVATE: 'localhost' },
      { GLIMPSE_DATASET_ROOTS: 'relative/dir' },
      { GLIMPSE_MAX_SYNTHETIC_IMAGES: '0' },
      { GLIMPSE_BACKBONE_MAX_BYTES: 'lots' },
    ]) {
      expect(() => loadConfig(env), JSON.stringify(env)).toThrow(ConfigError);
    }
  });
});
