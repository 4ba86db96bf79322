import CBLAS
import CKernels
import Glibc

/// OpenBLAS, which the engine calls for the GEMMs it has no kernel of its own for (the training
/// pass's 1×1 convolutions and their gradients, im2col convolutions, the transitions, Dense).
public enum BLAS {
    /// Sets OpenBLAS' thread count (`openblas_set_num_threads`); the engine keeps it at 1.
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
    /// OpenBLAS' current thread count (`openblas_get_num_threads`).
    public static var threads: Int { Int(openblas_get_num_threads()) }
    /// The kernel set OpenBLAS runs (`openblas_get_corename`), e.g. `SkylakeX` or `Haswell`.
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// Makes OpenBLAS run the kernels the CPU's features allow; once per process, before the first
    /// GEMM (every engine GEMM asks first, so none runs while the kernels change).
    ///
    /// OpenBLAS chooses its kernels by CPU model number, and a release older than the CPU falls back
    /// to its SSE3 ones: Debian 12's 0.3.21 names an Emerald Rapids (family 6, model 207) `Prescott`
    /// and runs sgemm at ≈ 30 GFLOP/s a core instead of ≈ 130 with its AVX-512 kernels (docs/
    /// performance.md). So where OpenBLAS is built for several CPUs (`gotoblas_dynamic_init`, as
    /// Debian's is) and chose kernels narrower than the CPU's vectors, this selects `SkylakeX`
    /// (AVX-512 F/CD/BW/DQ/VL) or `Haswell` (AVX2 + FMA) the way `OPENBLAS_CORETYPE` does at load,
    /// and leaves that variable set for child processes. A user's own `OPENBLAS_CORETYPE`
    /// stands.
    @inline(__always) public static func matchKernelsToTheCPU() { _ = kernelsMatched }

    private static let kernelsMatched: Void = {
        guard userCoreType == nil, !kernelsFitTheCPU, let wanted = coresFittingTheCPU.first,
            let quit = dlsym(nil, "gotoblas_dynamic_quit"), let reinitialize = dlsym(nil, "gotoblas_dynamic_init")
        else { return }
        typealias Entry = @convention(c) () -> Void
        setenv("OPENBLAS_CORETYPE", wanted, 1)
        unsafeBitCast(quit, to: Entry.self)()
        unsafeBitCast(reinitialize, to: Entry.self)()
    }()

    /// `OPENBLAS_CORETYPE` as the process started with it: the user's choice of kernels.
    static let userCoreType: String? = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }

    /// OpenBLAS' kernel sets that use the CPU's widest vectors, the one to choose first; empty
    /// below AVX2 + FMA.
    static var coresFittingTheCPU: [String] {
        if ckernels_has_avx512_skylake() != 0 { return ["SkylakeX", "Cooperlake", "SapphireRapids"] }
        if ckernels_has_avx2_fma() != 0 { return ["Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"] }
        return []
    }

    /// OpenBLAS runs kernels as wide as the CPU's vectors (or the CPU has no AVX2).
    static var kernelsFitTheCPU: Bool {
        let core = coreName.lowercased()
        return coresFittingTheCPU.isEmpty || coresFittingTheCPU.contains { $0.lowercased() == core }
    }
}

/// Row-major single-precision GEMM wrapper: C[m,n] = alpha * op(A) * op(B) + beta * C.
@inline(__always)
func sgemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    if m == 0 || n == 0 { return }
    BLAS.matchKernelsToTheCPU()
    if k == 0 {
        if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
        return
    }
    cblas_sgemm(
        CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}
