/*
 * fuzz_cel: arbitrary text as an IAM condition's CEL expression (em_cel), evaluated on a
 * fixed resource and time. Evaluation must never crash, leak, overflow the stack or read
 * past the text, and must answer 1, 0 or -1 with a reason for -1.
 */
#include "fuzz_text.h"
#include "em_cel.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    static const struct em_cel_context ctx = {
        .resource_name = "projects/p/locations/global/keyRings/r/cryptoKeys/k",
        .resource_type = "cloudkms.googleapis.com/CryptoKey",
        .resource_service = "cloudkms.googleapis.com",
        .request_time_ns = 1796398245LL * 1000000000LL,
    };
    char why[160];
    int r = em_cel_eval(text, &ctx, why, sizeof(why));
    if (r < -1 || r > 1 || (r == -1 && !why[0]))
        abort();
    free(text);
    return 0;
}
