import DenseNetEngine

extension EngineConfiguration {
    /// The engine configuration the documented A/B switches ask for (docs/performance.md):
    /// DENSENET_IO_SIMD=portable|avx2, DENSENET_IO_CONV=blas, DENSENET_IO_DIRECT_MAX_COUT=n and
    /// DENSENET_IO_WINOGRAD=0; unset or other values keep the default. `train` and `bench` read them.
    init(environment: [String: String]) {
        self.init(
            kernels: environment["DENSENET_IO_SIMD"].flatMap(Kernels.init(rawValue:)) ?? .automatic,
            convolutions: environment["DENSENET_IO_CONV"] == "blas" ? .blas : .automatic,
            directMaxOutputChannels: environment["DENSENET_IO_DIRECT_MAX_COUT"].flatMap { Int($0) },
            winograd: environment["DENSENET_IO_WINOGRAD"] != "0")
    }
}
