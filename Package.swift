// swift-tools-version:6.1
import PackageDescription

// Layers, bottom to top (imports point one way):
//   CHDF5 (C shim) → HDF5 (h5py's nouns, no Keras) ───┐
//   CBLAS, CKernels → DenseNetEngine (math, no files) ─┼→ KerasFormat (Keras names and layouts)
//   CZlibShim, DenseNetEngine → Datasets (IDX files)  └─ ZIPFoundation (.keras archives)
//   DenseNetEngine, KerasFormat (atomic writes), SwiftProtobuf → ONNXFormat (ONNX export and its check)
//   TrainingRecords (CSV, history, TensorBoard files)
//   CMPI (Open MPI) → MPICollective (the engine's Collective on MPI_COMM_WORLD; needs DenseNetEngine)
//                                                                 ↓
//                                                       densenet-io (CLI wiring only)
//
// Platform: Linux with glibc only, said here because SwiftPM has no way to exclude a platform. The
// native libraries are Debian's (libhdf5-dev, libopenblas-dev for `openblas_set_num_threads`,
// zlib1g-dev); the engine and Datasets call Glibc by name (sysconf, getrusage, clock_gettime, `Glibc.read`);
// the fast kernels are x86-64 AVX2/FMA C chosen by a run-time CPU check (other CPUs run the portable
// Swift kernels). Nothing was ever built or tested on macOS, so the manifest names no Apple platform
// rather than a minimum version it cannot back (Synchronization's Atomic alone needs macOS 15).
let package = Package(
    name: "densenet-io",
    products: [
        .library(name: "HDF5", targets: ["HDF5"]),
        .library(name: "DenseNetEngine", targets: ["DenseNetEngine"]),
        .library(name: "KerasFormat", targets: ["KerasFormat"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "ONNXFormat", targets: ["ONNXFormat"]),
        .library(name: "TrainingRecords", targets: ["TrainingRecords"]),
        .library(name: "MPICollective", targets: ["MPICollective"]),
        .executable(name: "densenet-io", targets: ["densenet-io"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        // ONNX's messages (Sources/ONNXFormat/Generated, made by scripts/generate-onnx-proto).
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        // `swift package generate-documentation`: the DocC catalog in Sources/KerasFormat (a command plugin only).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0")
    ],
    targets: [
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlibShim", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        // The size and inflation bounds every reader of an untrusted file keeps (docs/security.md).
        .target(name: "ReadLimits"),
        // A SIGBUS guard for mapped files another process truncates (HDF5's mappings only; docs/security.md).
        .target(name: "CMapGuard"),
        .target(name: "HDF5", dependencies: ["CHDF5", "CMapGuard", "ReadLimits"]),
        .target(name: "CKernels"),
        .target(name: "DenseNetEngine", dependencies: ["CBLAS", "CKernels"]),
        .target(name: "Datasets", dependencies: ["CZlibShim", "DenseNetEngine", "ReadLimits"]),
        .target(name: "KerasFormat", dependencies: ["HDF5", "DenseNetEngine", "ZIPFoundation", "ReadLimits"]),
        // ONNX files of the engine's models: messages generated from onnx.proto (scripts/generate-onnx-proto).
        .target(
            name: "ONNXFormat",
            dependencies: ["DenseNetEngine", "KerasFormat", "ReadLimits", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        // Keras' CSVLogger, History and TensorBoard records of a run, and their plot; Foundation only.
        .target(name: "TrainingRecords"),
        // Data-parallel training across processes: the engine's Collective over Open MPI.
        .target(name: "MPICollective", dependencies: ["CMPI", "DenseNetEngine"]),
        .executableTarget(
            name: "densenet-io",
            dependencies: [
                "HDF5", "DenseNetEngine", "KerasFormat", "ONNXFormat", "Datasets", "TrainingRecords", "ReadLimits",
                "MPICollective",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ]),
        // Every test target's helpers: fixture paths, temporary files, HDF5 structure listings, IDX
        // files, model values, the built binary's runner.
        .target(name: "TestSupport", dependencies: ["HDF5", "DenseNetEngine", "Datasets", "CKernels"], path: "Tests/TestSupport"),
        .testTarget(name: "HDF5Tests", dependencies: ["HDF5", "TestSupport"]),
        .testTarget(name: "DenseNetEngineTests", dependencies: ["DenseNetEngine", "HDF5", "TestSupport"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "DenseNetEngine", "TestSupport"]),
        .testTarget(name: "KerasFormatTests", dependencies: ["KerasFormat", "HDF5", "DenseNetEngine", "ZIPFoundation", "TestSupport"]),
        .testTarget(name: "ONNXFormatTests", dependencies: ["ONNXFormat", "DenseNetEngine", "TestSupport"]),
        .testTarget(name: "TrainingRecordsTests", dependencies: ["TrainingRecords", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["densenet-io", "HDF5", "KerasFormat", "TrainingRecords", "TestSupport"])
    ]
)
