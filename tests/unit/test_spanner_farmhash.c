/*
 * test_spanner_farmhash: sp_farm_fingerprint64 against the values of FARM_FINGERPRINT
 * returned by Google's Spanner emulator (gcloud's cloud-spanner-emulator 1.5.28, through
 * executeSql), for every length from 0 to 130 (each path of the hash: 0 to 16, 17 to 32,
 * 33 to 64, over 64, and the 64-byte blocks on both sides of 128), over ASCII text and over
 * bytes with the high bit set; UTF-8 strings and BYTES literals; inputs of 999 to 5001
 * bytes; and the same bytes at every alignment.
 *
 * Spanner returns FARM_FINGERPRINT as a signed INT64, so the tables hold int64_t; the hash
 * is its 64 bits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spanner/spanner_farmhash.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PREFIX 130

/* FARM_FINGERPRINT('<the first n bytes of TEXT>') for n = 0 .. 130 */
static const char TEXT[] = "The quick brown fox jumps over the lazy dog; pack my box with "
                           "five dozen liquor jugs! Sphinx of black quartz, judge my vow: 012345";

static const int64_t text_prefix_expected[MAX_PREFIX + 1] = {
    INT64_C(-7286425919675154353), INT64_C(1366698271136253306),  INT64_C(6802249652779214323),
    INT64_C(-8824672173256051715), INT64_C(-797828528184215899),  INT64_C(8805132910519014279),
    INT64_C(-4557017158677715790), INT64_C(-343606922379908217),  INT64_C(5102859526078303239),
    INT64_C(5536152759197313107),  INT64_C(-1967359073798693043), INT64_C(2303588742343502204),
    INT64_C(-2399914536697280121), INT64_C(-8698559718571450783), INT64_C(-1319722441669362037),
    INT64_C(9032017524180936103),  INT64_C(4320848957565769301),  INT64_C(-4061352233596342851),
    INT64_C(-7265979711357593742), INT64_C(-517306638013326363),  INT64_C(-3764641433001135209),
    INT64_C(4740827635199149782),  INT64_C(-3292578098254695228), INT64_C(2647668208231658627),
    INT64_C(6702341905823656245),  INT64_C(1503448500679765431),  INT64_C(-4232036594754562971),
    INT64_C(-7280879383087789463), INT64_C(-8069164337859936140), INT64_C(-8032870406307618122),
    INT64_C(-1776528525103222694), INT64_C(-8963653081731734701), INT64_C(-5307099777350626718),
    INT64_C(-981808865693223978),  INT64_C(-8637593428574172739), INT64_C(7864523934343902763),
    INT64_C(951115053304100694),   INT64_C(7907802178511505551),  INT64_C(1680318780247804403),
    INT64_C(7327235254779281827),  INT64_C(-6553412831608575839), INT64_C(-7946187286582679483),
    INT64_C(-9207588162960889282), INT64_C(-6071270166956912332), INT64_C(-4237483329928707422),
    INT64_C(1481348688529346499),  INT64_C(1248336754121300955),  INT64_C(-709977628262370845),
    INT64_C(8698840823406582693),  INT64_C(3490458023837586015),  INT64_C(-4662519777637204747),
    INT64_C(5461442477143352870),  INT64_C(-4224274529370938704), INT64_C(-5213265082833985585),
    INT64_C(1508956943372225710),  INT64_C(7107672200937660103),  INT64_C(-3613183173219666466),
    INT64_C(4365849312518897400),  INT64_C(9011537945863583425),  INT64_C(-1727237549742499726),
    INT64_C(-5878231933329328682), INT64_C(3422116360334963218),  INT64_C(-8809530474217518020),
    INT64_C(-958731439271599361),  INT64_C(3651727585108321787),  INT64_C(401843254309390432),
    INT64_C(2597439371617620921),  INT64_C(8496414670265250678),  INT64_C(7736915308306480937),
    INT64_C(-37928847870915031),   INT64_C(2575095737170997694),  INT64_C(-6917742392978387910),
    INT64_C(-8121876524467019999), INT64_C(-5649890845797296039), INT64_C(-3474062016451646226),
    INT64_C(-6937017409911269534), INT64_C(-2270404130342303206), INT64_C(-4178950928784896641),
    INT64_C(-7559989279122718570), INT64_C(469417683500244717),   INT64_C(1384102806586789266),
    INT64_C(5633389959941256212),  INT64_C(5944013366873060843),  INT64_C(-7647731419331871726),
    INT64_C(-755972125638078145),  INT64_C(-3354079620918260353), INT64_C(7587700410056137537),
    INT64_C(-981673324018314815),  INT64_C(-5822784054010380785), INT64_C(-1208001047965290386),
    INT64_C(-7033349521974220060), INT64_C(8327114646240262326),  INT64_C(-6273154858883677732),
    INT64_C(-1535917333641298706), INT64_C(1393608774644931791),  INT64_C(-3055637479953565102),
    INT64_C(-785298702001859178),  INT64_C(6190075080394857998),  INT64_C(7981331803834116401),
    INT64_C(-7471070862756951735), INT64_C(1347939365911211238),  INT64_C(-3186143742383272384),
    INT64_C(1473200686654354727),  INT64_C(8509990141062375635),  INT64_C(3968508258076084674),
    INT64_C(4145990176858644731),  INT64_C(8405530711457275252),  INT64_C(-2989040000065739755),
    INT64_C(772111759972668076),   INT64_C(786362784675469093),   INT64_C(-8176262706567047392),
    INT64_C(-1936903852234910145), INT64_C(-1831547139086700943), INT64_C(3987465529150678110),
    INT64_C(2731862195112571208),  INT64_C(8849785556383433649),  INT64_C(7705536170363555078),
    INT64_C(-603153437095401456),  INT64_C(8592127125651028450),  INT64_C(-809326739692206034),
    INT64_C(989466909322960835),   INT64_C(-3343376733234237494), INT64_C(6580089935682772628),
    INT64_C(4327151080635293131),  INT64_C(7101843447521371275),  INT64_C(-7626151384626058923),
    INT64_C(4703047052043820288),  INT64_C(3268297409203558761),  INT64_C(-2613320007107320706),
    INT64_C(-1550744104150456168), INT64_C(2411264086038247840),
};

/* FARM_FINGERPRINT(@b) for the first n bytes of high_bytes() (0xff, 0xf8, 0xf1, ...: byte k
 * is 0xff - 7k mod 256), passed as a BYTES parameter, for n = 0 .. 130 */
static const int64_t high_bytes_expected[MAX_PREFIX + 1] = {
    INT64_C(-7286425919675154353), INT64_C(2425282684166416103),  INT64_C(-731827883556100508),
    INT64_C(-7335190591407068923), INT64_C(7630406520074374422),  INT64_C(-7599451599578088379),
    INT64_C(-489528681388846401),  INT64_C(-8690229892360441241), INT64_C(1721709493306908663),
    INT64_C(618437414770482288),   INT64_C(-8865724514032636680), INT64_C(6038684161798617583),
    INT64_C(-1465928443432606736), INT64_C(6574339738677390584),  INT64_C(-5349796091022089772),
    INT64_C(-6076925858464852520), INT64_C(4159302123979916372),  INT64_C(7732132204292825654),
    INT64_C(-4243271332953704810), INT64_C(-6124732523757597453), INT64_C(6148475725197570143),
    INT64_C(-6369333091303366345), INT64_C(1612279808644338052),  INT64_C(8958441481665545646),
    INT64_C(-7073485854606235664), INT64_C(-9005538384857221528), INT64_C(6692244972591380740),
    INT64_C(4862234985540537486),  INT64_C(3482904568201212040),  INT64_C(4099524766172881798),
    INT64_C(-6619089215229799399), INT64_C(9061438506727616504),  INT64_C(-4861884495165834707),
    INT64_C(-958474718484631983),  INT64_C(-5399881523814379531), INT64_C(-5920014849505590151),
    INT64_C(5783594375652653635),  INT64_C(-4759946757936717165), INT64_C(8523723483850665571),
    INT64_C(3655324450545469670),  INT64_C(3605688998721762346),  INT64_C(-8290723846205764060),
    INT64_C(1131234975149496607),  INT64_C(-3750975285206121900), INT64_C(5708232417956090973),
    INT64_C(-7310634065241319083), INT64_C(2343143525220980670),  INT64_C(1513963115543036770),
    INT64_C(1185610267222776360),  INT64_C(-861959118111659522),  INT64_C(4784099161546870582),
    INT64_C(-3546626268253286324), INT64_C(-4759987926309414124), INT64_C(6622637407219370306),
    INT64_C(8478058795253061476),  INT64_C(4000724169518159138),  INT64_C(-5908377795010765366),
    INT64_C(2548903468654586203),  INT64_C(3823695786270760154),  INT64_C(-7110078744034398251),
    INT64_C(7973796879716254627),  INT64_C(-5245197617415426142), INT64_C(-1324674141322296600),
    INT64_C(-2156847271847331746), INT64_C(2480394018633319017),  INT64_C(198703141848078752),
    INT64_C(6964681752438117580),  INT64_C(7704836402053762065),  INT64_C(-6966845912105304477),
    INT64_C(-6322803803875841449), INT64_C(-2847351322322516679), INT64_C(2593737849076526427),
    INT64_C(217619129641274797),   INT64_C(2723697861117564872),  INT64_C(8422895997995432724),
    INT64_C(-3753576260391786328), INT64_C(933315290609687153),   INT64_C(8323108059465449180),
    INT64_C(-8517114144515464572), INT64_C(7304028006108225494),  INT64_C(3826146200517714236),
    INT64_C(6995176847143396579),  INT64_C(-5719843084280596839), INT64_C(6482037058138888693),
    INT64_C(9210388197677909173),  INT64_C(8158401885307453061),  INT64_C(7127972240236799782),
    INT64_C(-2615040775313261907), INT64_C(-8772619488781901039), INT64_C(7623322615915109304),
    INT64_C(-3773333625228765091), INT64_C(-4923360518206041131), INT64_C(-659788426669474533),
    INT64_C(-166206084377077790),  INT64_C(6161234140848183364),  INT64_C(-8130820427922098486),
    INT64_C(5015926498867501638),  INT64_C(-6400313394837244594), INT64_C(56648359683020304),
    INT64_C(1892696550325502540),  INT64_C(-2967111341032037901), INT64_C(7060228717437019675),
    INT64_C(8268175218230773989),  INT64_C(-6214301249575120980), INT64_C(-5592783269966925923),
    INT64_C(-4360840773011929796), INT64_C(-775997541044070498),  INT64_C(9150669797302494797),
    INT64_C(1836119038056967649),  INT64_C(-2630575609949177816), INT64_C(6524579092394978748),
    INT64_C(-300940736577433532),  INT64_C(-5916864447674417872), INT64_C(-2782952517780939755),
    INT64_C(3737275731449478587),  INT64_C(1391233913741724653),  INT64_C(-4953692772827173828),
    INT64_C(3117191251497503979),  INT64_C(-2868365828358916432), INT64_C(-5778236188602219997),
    INT64_C(8453443379439105305),  INT64_C(149388952469316412),   INT64_C(3609899423055332204),
    INT64_C(1087762265427115502),  INT64_C(706089727315563119),   INT64_C(4662041396926931123),
    INT64_C(-8757552171513055216), INT64_C(8800296178572394431),  INT64_C(-555384194801474535),
    INT64_C(209220069034861280),   INT64_C(3677472029448936721),
};

static void high_bytes(unsigned char *out, size_t len)
{
    for (size_t k = 0; k < len; k++)
        out[k] = (unsigned char)(0xff - 7 * k);
}

static void expect_fingerprint(const void *data, size_t len, int64_t want, const char *what)
{
    uint64_t got = sp_farm_fingerprint64(data, len);
    if (got != (uint64_t)want)
        fail_msg("%s (%zu bytes): got %" PRId64 ", Spanner says %" PRId64, what, len, (int64_t)got,
                 want);
}

static void test_every_length_of_a_text(void **state)
{
    (void)state;
    assert_true(sizeof(TEXT) - 1 >= MAX_PREFIX);
    for (size_t n = 0; n <= MAX_PREFIX; n++)
        expect_fingerprint(TEXT, n, text_prefix_expected[n], "text prefix");
}

/* each input in a buffer of exactly its size, so that ASan stops a read past its end */
static void test_every_length_of_high_bytes(void **state)
{
    (void)state;
    for (size_t n = 0; n <= MAX_PREFIX; n++) {
        unsigned char *bytes = malloc(n ? n : 1);
        assert_non_null(bytes);
        high_bytes(bytes, n);
        expect_fingerprint(bytes, n, high_bytes_expected[n], "high bytes prefix");
        free(bytes);
    }
}

/* the empty input needs no buffer */
static void test_empty_input_may_be_null(void **state)
{
    (void)state;
    expect_fingerprint(NULL, 0, INT64_C(-7286425919675154353), "NULL, 0");
}

struct literal_case {
    const char *bytes;
    size_t len;
    int64_t expected;
};

/* The GoogleSQL literal in each comment, as UTF-8 (a STRING) or raw bytes (a BYTES). */
static const struct literal_case literal_cases[] = {
    /* '\u00e9' */
    {"\xc3\xa9", 2, INT64_C(693143013273849025)},
    /* 'e\u0301' */
    {"e\xcc\x81", 3, INT64_C(3027947468494914332)},
    /* 'gr\u00fc\u00df' */
    {"gr\xc3\xbc\xc3\x9f", 6, INT64_C(-1913070628936190780)},
    /* '\u65e5\u672c\u8a9e' */
    {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 9, INT64_C(-2765511847642875833)},
    /* '\U0001F600' */
    {"\xf0\x9f\x98\x80", 4, INT64_C(7642301103428097395)},
    /* 'na\u00efve caf\u00e9 \u2014 \u00e5ngstr\u00f6m' */
    {"na\xc3\xafve caf\xc3\xa9 \xe2\x80\x94 \xc3\xa5ngstr\xc3\xb6m", 27,
     INT64_C(-8384459529967392407)},
    /* '\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!
       \u3053\u3093\u306b\u3061\u306f\u4e16\u754c \U0001F30D\U0001F680' */
    {"\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82, \xd0\xbc\xd0\xb8\xd1\x80! "
     "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf\xe4\xb8\x96\xe7\x95\x8c "
     "\xf0\x9f\x8c\x8d\xf0\x9f\x9a\x80",
     52, INT64_C(-8021663046606486147)},
    /* b'' */
    {"", 0, INT64_C(-7286425919675154353)},
    /* b'\x00' */
    {"\x00", 1, INT64_C(-4728684028706075820)},
    /* b'\xff' */
    {"\xff", 1, INT64_C(2425282684166416103)},
    /* b'\x00\xff' */
    {"\x00\xff", 2, INT64_C(2909837915285000904)},
    /* b'\x80\x81\x82' */
    {"\x80\x81\x82", 3, INT64_C(-468730691015824628)},
    /* b'\xff\xff\xff\xff' */
    {"\xff\xff\xff\xff", 4, INT64_C(3427172234988467876)},
    /* b'\x00\x00\x00\x00\x00\x00\x00\x00' */
    {"\x00\x00\x00\x00\x00\x00\x00\x00", 8, INT64_C(1457330246272086660)},
    /* b'\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4' */
    {"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4", 12, INT64_C(-1126248577686488858)},
    /* b'abc' */
    {"abc", 3, INT64_C(2640714258260161385)},
    /* 'abc' */
    {"abc", 3, INT64_C(2640714258260161385)},
};

static void test_utf8_strings_and_bytes_literals(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(literal_cases) / sizeof(literal_cases[0]); i++) {
        const struct literal_case *c = &literal_cases[i];
        char what[32];
        snprintf(what, sizeof(what), "literal_cases[%zu]", i);
        expect_fingerprint(c->bytes, c->len, c->expected, what);
    }
}

struct repeat_case {
    const char *unit; /* REPEAT(unit, count) */
    size_t unit_len;
    size_t count;
    int64_t expected;
};

static const struct repeat_case repeat_cases[] = {
    /* REPEAT('abc', 333): 999 bytes */
    {"abc", 3, 333, INT64_C(4150105619434361114)},
    /* REPEAT('abcd', 250): 1000 bytes */
    {"abcd", 4, 250, INT64_C(7598094193973763565)},
    /* REPEAT('abcd', 256): 1024 bytes */
    {"abcd", 4, 256, INT64_C(-2750494650560826096)},
    /* REPEAT('abcde', 1000): 5000 bytes */
    {"abcde", 5, 1000, INT64_C(-5311248581565559846)},
    /* REPEAT('abc', 1667): 5001 bytes */
    {"abc", 3, 1667, INT64_C(-6138804006889611051)},
    /* REPEAT(b'\x80\xff\x01', 400): 1200 bytes */
    {"\x80\xff\x01", 3, 400, INT64_C(5493656152023752599)},
    /* REPEAT(b'\xfe', 64): 64 bytes */
    {"\xfe", 1, 64, INT64_C(-467206332526654864)},
    /* REPEAT(b'\x00', 65): 65 bytes */
    {"\x00", 1, 65, INT64_C(2325558011289879679)},
};

static void test_long_inputs(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(repeat_cases) / sizeof(repeat_cases[0]); i++) {
        const struct repeat_case *c = &repeat_cases[i];
        size_t len = c->unit_len * c->count;
        unsigned char *buf = malloc(len);
        assert_non_null(buf);
        for (size_t k = 0; k < c->count; k++)
            memcpy(buf + k * c->unit_len, c->unit, c->unit_len);
        char what[32];
        snprintf(what, sizeof(what), "repeat_cases[%zu]", i);
        expect_fingerprint(buf, len, c->expected, what);
        free(buf);
    }
}

/* The loads must not depend on the address: the text at offsets 1 to 7 of a buffer (run
 * under UBSan, a misaligned load would also stop the test). */
static void test_any_alignment(void **state)
{
    (void)state;
    unsigned char buf[MAX_PREFIX + 8];
    for (size_t offset = 1; offset < 8; offset++) {
        memset(buf, 0xa5, sizeof(buf));
        memcpy(buf + offset, TEXT, MAX_PREFIX);
        for (size_t n = 0; n <= MAX_PREFIX; n++)
            expect_fingerprint(buf + offset, n, text_prefix_expected[n], "unaligned text");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_length_of_a_text),
        cmocka_unit_test(test_every_length_of_high_bytes),
        cmocka_unit_test(test_empty_input_may_be_null),
        cmocka_unit_test(test_utf8_strings_and_bytes_literals),
        cmocka_unit_test(test_long_inputs),
        cmocka_unit_test(test_any_alignment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
