#include "CKernels.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

void ckernels_copy_streaming(void *destination, const void *source, size_t bytes) {
#if defined(__x86_64__)
    char *d = destination;
    const char *s = source;
    size_t head = (16 - ((uintptr_t)d & 15)) & 15;
    if (bytes < 4096) {
        memcpy(d, s, bytes);
        return;
    }
    memcpy(d, s, head);
    d += head, s += head, bytes -= head;
    size_t whole = bytes & ~(size_t)63;
    for (size_t i = 0; i < whole; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(s + i)), b = _mm_loadu_si128((const __m128i *)(s + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(s + i + 32)), e = _mm_loadu_si128((const __m128i *)(s + i + 48));
        _mm_stream_si128((__m128i *)(d + i), a);
        _mm_stream_si128((__m128i *)(d + i + 16), b);
        _mm_stream_si128((__m128i *)(d + i + 32), c);
        _mm_stream_si128((__m128i *)(d + i + 48), e);
    }
    _mm_sfence();
    memcpy(d + whole, s + whole, bytes - whole);
#else
    memcpy(destination, source, bytes);
#endif
}
