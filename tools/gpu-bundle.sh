#!/usr/bin/env bash
# Assembles the GPU bundle from a built `gpu-bundle` preset (./run gpu-bundle
# builds it first): one relocatable folder with everything a GPU machine with
# the NVIDIA driver, the CUDA 13 runtime libraries and python3 lacks.
#
#   tools/gpu-bundle.sh BUILD_DIR BUNDLE_DIR
#
#   bin/            redes, every test program, every *_bench (stripped; RUNPATH $ORIGIN/../lib),
#                   and the tests' fake cuDNN libraries
#   lib/            libredes and the other libraries the machine lacks
#   lib/xz/         libredes, OpenBLAS and its Fortran runtime, xz-compressed
#                   (gpu-check.sh unpacks them)
#   lib/fallback/   libraries used only where the machine has none of that name
#   data/           Fashion-MNIST (t10k and the first 10,000 training
#                   images), cars.json, seattle-temps.csv: `--data` paths
#   fixtures/       the tests' PyTorch fixtures (REDES_FIXTURE_DIR)
#   gpu-check.sh    the check to run there; manifest.txt says what was built
#
# Fails when the folder exceeds REDES_BUNDLE_LIMIT_MIB (default 60) MiB.
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -eq 2 ] || { echo "usage: tools/gpu-bundle.sh BUILD_DIR BUNDLE_DIR" >&2; exit 2; }
build=$1
bundle=$2
limit_mib=${REDES_BUNDLE_LIMIT_MIB:-60}
training_images=10000

rm -rf "$bundle"
mkdir -p "$bundle"/{bin,lib/xz,lib/fallback,data/fashion-mnist,fixtures}

# --- programs and libredes -----------------------------------------------------
programs=("$build/cli/redes")
for program in "$build"/tests/*_test "$build"/bench/*_bench; do
  [ -f "$program" ] && [ -x "$program" ] && programs+=("$program")
done
for program in "${programs[@]}"; do
  strip --strip-all -o "$bundle/bin/$(basename "$program")" "$program"
done
# cudnn_loader_test loads these stand-ins from its own folder.
for fake in "$build"/tests/libfake_cudnn_*.so; do
  strip --strip-unneeded -o "$bundle/bin/$(basename "$fake")" "$fake"
done
libredes=$(readlink -f "$build/libredes.so")
soname=$(objdump -p "$libredes" | awk '$1 == "SONAME" { print $2 }')
strip --strip-unneeded -o "$bundle/lib/$soname" "$libredes"
echo "programs: ${#programs[@]} (tests $(find "$bundle/bin" -name '*_test' | wc -l)," \
  "benchmarks $(find "$bundle/bin" -name '*_bench' | wc -l), redes); $soname"

# --- the libraries they need ----------------------------------------------------
# The machine provides the driver, the CUDA libraries and the C and C++
# runtimes (libstdc++ is not linked statically: libredes and the programs
# pass std:: types to each other, which needs one copy of it in the process;
# manifest.txt names the newest GLIBC and GLIBCXX versions needed and
# gpu-check.sh compares). The rest travels.
provided='^(linux-vdso\.so|ld-linux-x86-64\.so|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|libgcc_s\.so|libstdc\+\+\.so|libcuda\.so|libcudart\.so|libcublas\.so|libcublasLt\.so|libcudnn[a-z_]*\.so|libnvrtc)'
fallback='^(libgomp\.so|libz\.so)'
needed_from_machine=()
while read -r name path; do
  if [[ $name =~ $provided ]]; then
    needed_from_machine+=("$name")
  elif [ "$name" = "$soname" ]; then
    continue
  elif [[ $name =~ ^(libopenblas|libgfortran|libquadmath) ]]; then
    xz -9 -T1 -c "$path" > "$bundle/lib/xz/$name.xz"
  elif [[ $name =~ $fallback ]]; then
    cp -L "$path" "$bundle/lib/fallback/$name"
  else
    cp -L "$path" "$bundle/lib/$name"
  fi
done < <(for file in "$bundle"/bin/* "$bundle/lib/$soname"; do LD_LIBRARY_PATH="$bundle/lib" ldd "$file"; done |
  awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' | sort -u)
unresolved=$(for file in "$bundle"/bin/* "$bundle/lib/$soname"; do LD_LIBRARY_PATH="$bundle/lib" ldd "$file"; done |
  grep 'not found' | sort -u || true)
if [ -n "$unresolved" ]; then
  echo "gpu-bundle: libraries not found here:" >&2
  echo "$unresolved" >&2
  exit 1
fi
# libredes is most of the bundle (its device code for every kernel); it
# travels xz-compressed like OpenBLAS, and gpu-check.sh unpacks it into the
# library path the programs run with.
xz -9 -T1 -c "$bundle/lib/$soname" > "$bundle/lib/xz/$soname.xz"
rm "$bundle/lib/$soname"
echo "libraries: $(cd "$bundle/lib" && find . -type f | sed 's|^\./||' | sort | tr '\n' ' ')"

# --- data -----------------------------------------------------------------------
fashion=$(dirname "$(dpkg -L dataset-fashion-mnist | grep '/t10k-images-idx3-ubyte.gz$')")
vega=$(dirname "$(dpkg -L python3-vega-datasets | grep '/_data/cars.json$')")
cp "$fashion"/t10k-images-idx3-ubyte.gz "$fashion"/t10k-labels-idx1-ubyte.gz "$bundle/data/fashion-mnist/"
cp "$vega/cars.json" "$vega/seattle-temps.csv" "$bundle/data/"
# The first N training images and labels, as IDX files with the count
# rewritten (gzip without a time stamp, so the bundle is reproducible).
python3 - "$fashion" "$bundle/data/fashion-mnist" "$training_images" << 'EOF'
import gzip, struct, sys
source, target, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
for name, magic, item_bytes in (("train-images-idx3-ubyte", 0x803, 28 * 28), ("train-labels-idx1-ubyte", 0x801, 1)):
    with gzip.open(f"{source}/{name}.gz", "rb") as f:
        data = f.read()
    dims = data[3]
    header = 4 + 4 * dims
    found_magic, total = struct.unpack(">II", data[:8])
    if found_magic != magic or total < count or len(data) != header + total * item_bytes:
        sys.exit(f"{source}/{name}.gz: not the IDX file expected (magic {found_magic:#x}, {total} items)")
    body = data[header:header + count * item_bytes]
    with open(f"{target}/{name}.gz", "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as f:
            f.write(data[:4] + struct.pack(">I", count) + data[8:header] + body)
EOF
cp tests/fixtures/*.safetensors "$bundle/fixtures/"
cp tools/gpu-check.sh "$bundle/gpu-check.sh"
chmod +x "$bundle/gpu-check.sh"

# --- manifest -------------------------------------------------------------------
# The newest symbol versions any bundled file needs from glibc and libstdc++.
newest_version() {
  local prefix=$1
  {
    for file in "$bundle"/bin/* "$bundle"/lib/*.so* "$bundle"/lib/fallback/*; do
      [ -f "$file" ] && objdump -T "$file"
    done
    for file in "$bundle"/lib/xz/*.xz; do
      [ -f "$file" ] || continue
      xz -dc "$file" > "$bundle/.unpacked"
      objdump -T "$bundle/.unpacked"
      rm -f "$bundle/.unpacked"
    done
  } | grep -o "${prefix}_[0-9][0-9.]*" | sort -uV | tail -n 1
}
glibc_needed=$(newest_version GLIBC)
glibcxx_needed=$(newest_version GLIBCXX)
commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD 2> /dev/null || commit="$commit with uncommitted changes"
{
  echo "redes GPU bundle: run \`bash gpu-check.sh OUTDIR\` on a machine with an NVIDIA GPU (sm_90)"
  echo "commit: $commit"
  echo "built: $(date -u '+%Y-%m-%d %H:%M UTC') on $(sed -n 's/^PRETTY_NAME="\(.*\)"$/\1/p' /etc/os-release)"
  echo "build: preset gpu-bundle (Release, CUDA architectures 90, host code for the x86-64 baseline)"
  echo "compiler: $(g++ --version | head -n 1); $(nvcc --version | tail -n 1)"
  echo "needs GLIBC: $glibc_needed"
  echo "needs GLIBCXX: $glibcxx_needed"
  echo "needs from the machine: $(printf '%s\n' "${needed_from_machine[@]}" | sort -u | tr '\n' ' ')"
  echo "data: Fashion-MNIST t10k and the first $training_images training images (data/fashion-mnist)," \
    "data/cars.json, data/seattle-temps.csv"
} > "$bundle/manifest.txt"

# --- size -----------------------------------------------------------------------
bytes=$(du -sb "$bundle" | cut -f1)
size=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
echo "gpu-bundle: $bundle is $size MiB (limit $limit_mib MiB)"
if [ "$bytes" -gt $((limit_mib * 1048576)) ]; then
  echo "gpu-bundle: $bundle is larger than $limit_mib MiB: it would not travel to the GPU machine" >&2
  du -sh "$bundle"/* "$bundle"/lib/* >&2
  exit 1
fi
