-- net: GoogleSQL's NET functions. NET.HOST's reading of a URL (scheme, user info, port,
-- IPv6 literal, backslashes, dots, white space, case kept); NET.REG_DOMAIN and
-- NET.PUBLIC_SUFFIX against the public suffix list (wildcards and exceptions, a domain
-- under a wildcard such as kawasaki.jp, the PRIVATE section, IDN in either form, upper
-- case, trailing dots, IP addresses, unknown top-level domains, hosts ICU refuses, long
-- hosts); the IP functions (IPv4-mapped and compatible IPv6, inet_ntop's forms, the
-- link-local printing, BYTES of bad lengths, prefix lengths and integers out of range);
-- NULLs, SAFE., the dotted name's spellings, type errors, a generated column, parameters.
-- ddl
CREATE TABLE Urls (
  Id INT64 NOT NULL,
  Url STRING(MAX),
  Ip BYTES(MAX),
  Host STRING(MAX) AS (NET.HOST(Url)) STORED,
) PRIMARY KEY (Id);
-- dml
INSERT INTO Urls (Id, Url, Ip) VALUES (1, 'https://Mail.Google.co.UK:443/inbox', b'\x0a\x00\x00\x01'), (2, NULL, NULL), (3, 'ftp://user@[2001:db8::1]:21/', FROM_HEX('20010db8000000000000000000000001')), (4, 'bogus', b'abc'), (5, 'x.blogspot.com', b'');
-- query
SELECT Id, Host, NET.REG_DOMAIN(Url), NET.PUBLIC_SUFFIX(Url), SAFE.NET.IP_TO_STRING(Ip), SAFE.NET.IPV4_TO_INT64(Ip), SAFE.NET.IP_TRUNC(Ip, 8) FROM Urls ORDER BY Id;
SELECT NET.HOST(Url) AS h, COUNT(*) FROM Urls GROUP BY h ORDER BY h;
SELECT Id FROM Urls WHERE NET.REG_DOMAIN(Url) = 'Google.co.UK';
SELECT NET.IP_TO_STRING(Ip) FROM Urls WHERE Id = 4;
SELECT NET.HOST('http://user:pw@www.Example.COM:8080/a?b#c'), NET.HOST('//foo.com/x'), NET.HOST('www.google.com'), NET.HOST('  http://x.y/  '), NET.HOST('\t x.com \n');
SELECT NET.HOST('http://[2001:db8::1]:80/'), NET.HOST('[::1]'), NET.HOST('[::1'), NET.HOST('http://[::1]x:80'), NET.HOST('ftp://x.org:');
SELECT NET.HOST(''), NET.HOST(' '), NET.HOST('...'), NET.HOST('..a..'), NET.HOST('http://x.com.../'), NET.HOST('http://:80'), NET.HOST('http://@');
SELECT NET.HOST('mailto:foo@bar.com'), NET.HOST('http:/x.com'), NET.HOST('http:\\\\x.com\\y'), NET.HOST('a@b@c'), NET.HOST('x.com?a=b@c'), NET.HOST('x.com#@y');
SELECT NET.HOST('http://例子.测试/'), NET.HOST('http://a b.com/'), NET.HOST('://x'), NET.HOST(':/x'), NET.HOST('a:b://c'), NET.HOST('x//y'), NET.HOST('\u00a0x.com\u00a0');
SELECT NET.REG_DOMAIN('http://www.google.com/'), NET.PUBLIC_SUFFIX('http://www.google.com/'), NET.REG_DOMAIN('a.b.co.uk'), NET.PUBLIC_SUFFIX('a.b.co.uk'), NET.REG_DOMAIN('com'), NET.PUBLIC_SUFFIX('com'), NET.REG_DOMAIN('co.uk');
SELECT NET.REG_DOMAIN('1.2.3.4'), NET.PUBLIC_SUFFIX('1.2.3.4'), NET.REG_DOMAIN('[::1]'), NET.REG_DOMAIN('www.example.unknowntld'), NET.PUBLIC_SUFFIX('www.example.unknowntld'), NET.REG_DOMAIN('localhost');
SELECT NET.REG_DOMAIN('WWW.Google.COM'), NET.PUBLIC_SUFFIX('WWW.Google.COM'), NET.REG_DOMAIN('www.google.com.'), NET.PUBLIC_SUFFIX('www.google.com.'), NET.PUBLIC_SUFFIX('x.Com.'), NET.REG_DOMAIN('x.com..');
SELECT NET.REG_DOMAIN('a.b.kawasaki.jp'), NET.PUBLIC_SUFFIX('a.b.kawasaki.jp'), NET.REG_DOMAIN('kawasaki.jp'), NET.PUBLIC_SUFFIX('kawasaki.jp'), NET.REG_DOMAIN('www.city.kawasaki.jp'), NET.PUBLIC_SUFFIX('www.city.kawasaki.jp');
SELECT NET.REG_DOMAIN('x.www.ck'), NET.PUBLIC_SUFFIX('x.www.ck'), NET.PUBLIC_SUFFIX('a.b.ck'), NET.PUBLIC_SUFFIX('ck'), NET.REG_DOMAIN('ck'), NET.PUBLIC_SUFFIX('sch.uk'), NET.PUBLIC_SUFFIX('a.sch.uk'), NET.PUBLIC_SUFFIX('nom.br');
SELECT NET.REG_DOMAIN('foo.blogspot.com'), NET.PUBLIC_SUFFIX('foo.blogspot.com'), NET.PUBLIC_SUFFIX('a.b.compute.amazonaws.com'), NET.REG_DOMAIN('a.b.compute.amazonaws.com'), NET.REG_DOMAIN('x.github.io'), NET.REG_DOMAIN('www.gov.uk');
SELECT NET.REG_DOMAIN('例子.中国'), NET.PUBLIC_SUFFIX('例子.中国'), NET.REG_DOMAIN('www.xn--fiqz9s.xn--fiqs8s'), NET.PUBLIC_SUFFIX('a.XN--FIQS8S'), NET.REG_DOMAIN('Bücher.DE'), NET.REG_DOMAIN('Straße.de'), NET.REG_DOMAIN('www.exаmple.com');
SELECT NET.REG_DOMAIN('A..com'), NET.REG_DOMAIN('a..com'), NET.PUBLIC_SUFFIX('A..com'), NET.PUBLIC_SUFFIX('a..com'), NET.REG_DOMAIN('.com'), NET.PUBLIC_SUFFIX('.com'), NET.REG_DOMAIN('-a.Com'), NET.REG_DOMAIN('-a.com'), NET.REG_DOMAIN('a_b.Com'), NET.REG_DOMAIN('ab--c.Com');
SELECT NET.REG_DOMAIN('example。com'), NET.PUBLIC_SUFFIX('example。com'), NET.REG_DOMAIN('ａｂｃ．ｃｏｍ'), NET.REG_DOMAIN('A\u00adb.com'), NET.REG_DOMAIN('\u0301a.Com'), NET.REG_DOMAIN('A.שלום.com'), NET.REG_DOMAIN('A.1שלום.com');
SELECT LENGTH(NET.HOST(REPEAT('a', 1000000))), NET.REG_DOMAIN(CONCAT(REPEAT('a.', 100000), 'com')), NET.REG_DOMAIN(CONCAT(REPEAT('A', 300), '.com')), NET.PUBLIC_SUFFIX(CONCAT(REPEAT('a', 64), '.Com')), NET.PUBLIC_SUFFIX(CONCAT(REPEAT('a', 64), '.com'));
SELECT NET.REG_DOMAIN(NULL), NET.PUBLIC_SUFFIX(''), NET.HOST(NULL), SAFE.NET.HOST('x'), SAFE.NET.REG_DOMAIN('x.com'), SAFE.NET.PUBLIC_SUFFIX('x.com');
SELECT NET.IP_FROM_STRING('1.2.3.4'), NET.IP_FROM_STRING('::1'), NET.IP_FROM_STRING('::ffff:1.2.3.4'), NET.IP_FROM_STRING('2001:DB8::1'), NET.IP_FROM_STRING(NULL), NET.IP_FROM_STRING('::1.2.3.4');
SELECT NET.IP_FROM_STRING('01.2.3.4');
SELECT NET.IP_FROM_STRING('fe80::1%eth0');
SELECT NET.SAFE_IP_FROM_STRING('bogus'), NET.SAFE_IP_FROM_STRING('1.2.3.256'), NET.SAFE_IP_FROM_STRING('1.2.3'), NET.SAFE_IP_FROM_STRING('::1/128'), NET.SAFE_IP_FROM_STRING('1.2.3.4 '), NET.SAFE_IP_FROM_STRING('0000:0000:0000:0000:0000:0000:0000:0001'), NET.SAFE_IP_FROM_STRING('0000:0000:0000:0000:0000:ffff:255.255.255.255');
SELECT NET.SAFE_IP_FROM_STRING('1::2::3'), NET.SAFE_IP_FROM_STRING('[::1]'), NET.SAFE_IP_FROM_STRING('1:2:3:4:5:6:7:8:9'), NET.SAFE_IP_FROM_STRING('1:2:3:4:5:6:1.2.3.4'), NET.SAFE_IP_FROM_STRING('0x1.2.3.4'), SAFE.NET.IP_FROM_STRING('x'), NET.SAFE_IP_FROM_STRING(NULL);
SELECT NET.IP_TO_STRING(b'\x01\x02\x03\x04'), NET.IP_TO_STRING(NET.IP_FROM_STRING('::ffff:1.2.3.4')), NET.IP_TO_STRING(NET.IP_FROM_STRING('::1.2.3.4')), NET.IP_TO_STRING(NET.IP_FROM_STRING('::')), NET.IP_TO_STRING(NET.IP_FROM_STRING('1:0:0:2:0:0:0:3')), NET.IP_TO_STRING(NULL);
SELECT NET.IP_TO_STRING(NET.IP_FROM_STRING('0:0:0:0:1:0:0:1')), NET.IP_TO_STRING(NET.IP_FROM_STRING('1:0:0:2:0:0:3:4')), NET.IP_TO_STRING(NET.IP_FROM_STRING('2001:DB8:0:0:0:0:0:0')), NET.IP_TO_STRING(NET.IP_FROM_STRING('::ffff:0:0')), NET.IP_TO_STRING(NET.IP_FROM_STRING('::0.0.1.0')), NET.IP_TO_STRING(NET.IP_FROM_STRING('::0.1.0.0'));
-- Google prints fe80:0::/32 and ff02:0::/32 with bits 32 to 63 cleared (where it keeps a scope ID)
SELECT NET.IP_TO_STRING(NET.IP_FROM_STRING('fe80::1:2:3:4:5')), NET.IP_TO_STRING(NET.IP_FROM_STRING('fe80:1:2:3::1')), NET.IP_TO_STRING(FROM_HEX('ff020000000000010000000000000001')), NET.IP_TO_STRING(FROM_HEX('ff120000000000010000000000000001')), NET.IP_TO_STRING(NET.IP_FROM_STRING('febf:ffff:ffff::1'));
SELECT NET.IP_TO_STRING(b'');
SELECT NET.IP_TO_STRING(FROM_HEX('0102030405'));
SELECT NET.IP_NET_MASK(4, 22), NET.IP_NET_MASK(4, 0), NET.IP_NET_MASK(4, 32), NET.IP_NET_MASK(16, 128), NET.IP_NET_MASK(16, 1), NET.IP_NET_MASK(16, 127), NET.IP_NET_MASK(NULL, 1), NET.IP_NET_MASK(-4, NULL);
SELECT NET.IP_NET_MASK(5, 1);
SELECT NET.IP_NET_MASK(16, 129);
SELECT NET.IP_NET_MASK(4, -1);
SELECT NET.IP_TRUNC(b'\xAA\xBB\xCC\xDD', 0), NET.IP_TRUNC(b'\xAA\xBB\xCC\xDD', 11), NET.IP_TRUNC(b'\xAA\xBB\xCC\xDD', 32), NET.IP_TRUNC(NET.IP_FROM_STRING('2001:db8::ffff'), 120), NET.IP_TRUNC(NET.IP_FROM_STRING('ffff::ffff'), 7), NET.IP_TRUNC(NULL, 1), NET.IP_TRUNC(b'', NULL);
SELECT NET.IP_TRUNC(b'abc', 100);
SELECT NET.IP_TRUNC(FROM_HEX('0102030405060708090a0b0c0d0e0f1011'), 1);
SELECT NET.IP_TRUNC(NET.IP_FROM_STRING('::1'), 129);
SELECT NET.IP_TRUNC(b'abcd', -9223372036854775808);
SELECT NET.IPV4_FROM_INT64(0), NET.IPV4_FROM_INT64(167772161), NET.IPV4_FROM_INT64(-1), NET.IPV4_FROM_INT64(-2147483648), NET.IPV4_FROM_INT64(4294967295), NET.IPV4_FROM_INT64(NULL);
SELECT NET.IPV4_FROM_INT64(4294967296);
SELECT NET.IPV4_FROM_INT64(-9223372036854775808);
SELECT NET.IPV4_TO_INT64(b'\x00\x00\x00\x00'), NET.IPV4_TO_INT64(b'\xff\xff\xff\xff'), NET.IPV4_TO_INT64(b'\x0a\x00\x00\x01'), NET.IPV4_TO_INT64(NULL), SAFE.NET.IPV4_TO_INT64(b''), SAFE.NET.IPV4_FROM_INT64(4294967296);
SELECT NET.IPV4_TO_INT64(NET.IP_FROM_STRING('::1'));
SELECT SAFE.NET.IP_NET_MASK(4, 33), SAFE.NET.IP_NET_MASK(0, 0), SAFE.NET.IP_TRUNC(b'abc', 1), SAFE.NET.IP_TRUNC(b'abcd', 33), SAFE.NET.IP_TO_STRING(b'abc'), SAFE.NET.SAFE_IP_FROM_STRING('x');
SELECT SAFE.NET.IP_TRUNC(NET.IP_FROM_STRING('x'), 1);
SELECT net.host('X.com'), Net.Ip_From_String('1.2.3.4'), `NET`.HOST('x'), NET.`HOST`('y'), NET . HOST ('z'), safe.net.host('w'), SAFE . `net` . host('v');
SELECT NET.HOST(b'x');
SELECT NET.IP_TO_STRING('1.2.3.4');
SELECT NET.IP_TRUNC(b'abcd', 1.0);
SELECT NET.IP_NET_MASK('4', 1);
SELECT NET.HOST('a', 'b');
SELECT NET.FORMAT_IP(1);
SELECT NET.IP_IN_NET('1.2.3.4', '1.2.3.0/24');
SELECT SAFE.NET.NOPE(1);
SELECT foo.bar(1);
-- params: {"params": {"u": "http://a.b.co.uk/", "b": "CgAAAQ==", "n": "24"}, "paramTypes": {"u": {"code": "STRING"}, "b": {"code": "BYTES"}, "n": {"code": "INT64"}}}
SELECT NET.REG_DOMAIN(@u), NET.IPV4_TO_INT64(@b), NET.IP_NET_MASK(4, @n), NET.IP_TRUNC(@b, @n);
-- params: {"params": {"u": "http://a.b.co.uk/", "b": "CgAAAQ==", "n": "24"}}
SELECT NET.REG_DOMAIN(@u), NET.IPV4_TO_INT64(@b), NET.IP_NET_MASK(4, @n), NET.IP_TRUNC(@b, @n);
