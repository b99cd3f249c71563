// metavec_mpi: the few MPI calls metavec's mpi engine needs, as a plain N-API (C API) addon.
// Every call is synchronous and collective over MPI_COMM_WORLD; only the main JS thread calls MPI.
// Buffers travel as bytes (MPI_BYTE) so one entry point serves every typed array; the JS side (index.cjs)
// wraps results in typed views. Counts are C ints (MPI-3 API): at most 2 GiB per call and per peer.
#include <mpi.h>
#include <node_api.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {

bool Throw(napi_env env, const std::string& msg) {
  napi_throw_error(env, nullptr, ("mpi: " + msg).c_str());
  return false;
}

bool Check(napi_env env, int rc, const char* what) {
  if (rc == MPI_SUCCESS) return true;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  return Throw(env, std::string(what) + " failed: " + std::string(text, static_cast<size_t>(len)));
}

bool Initialized(napi_env env) {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (!init) return Throw(env, "not initialised (call init() first)");
  if (fin) return Throw(env, "already finalized");
  return true;
}

struct Bytes {
  uint8_t* data = nullptr;
  size_t length = 0;
};

size_t ElementSize(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: case napi_uint8_array: case napi_uint8_clamped_array: return 1;
    case napi_int16_array: case napi_uint16_array: return 2;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: return 4;
    default: return 8;
  }
}

bool GetBytes(napi_env env, napi_value v, Bytes* out, const char* what) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (!is) return Throw(env, std::string(what) + " must be a typed array");
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void* data = nullptr;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset) != napi_ok) {
    return Throw(env, std::string("cannot read ") + what);
  }
  out->data = static_cast<uint8_t*>(data);
  out->length = length * ElementSize(type);
  return true;
}

bool GetInt(napi_env env, napi_value v, int* out, const char* what) {
  if (napi_get_value_int32(env, v, out) != napi_ok) return Throw(env, std::string(what) + " must be an integer");
  return true;
}

int WorldSize() {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

int WorldRank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

bool CountFits(napi_env env, size_t bytes, const char* what) {
  if (bytes > static_cast<size_t>(INT_MAX)) return Throw(env, std::string(what) + ": more than 2 GiB in one call");
  return true;
}

napi_value Int(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

napi_value Undefined(napi_env env) {
  napi_value r;
  napi_get_undefined(env, &r);
  return r;
}

// New ArrayBuffer of `bytes`; *data points at its storage.
napi_value NewBuffer(napi_env env, size_t bytes, uint8_t** data) {
  void* p = nullptr;
  napi_value ab;
  napi_create_arraybuffer(env, bytes, &p, &ab);
  *data = static_cast<uint8_t*>(p);
  return ab;
}

// { buffer, counts: Int32Array(bytes per rank) }
napi_value BufferWithCounts(napi_env env, napi_value buffer, const std::vector<int>& counts) {
  uint8_t* cdata = nullptr;
  napi_value cab = NewBuffer(env, counts.size() * sizeof(int), &cdata);
  if (!counts.empty()) std::memcpy(cdata, counts.data(), counts.size() * sizeof(int));
  napi_value carr;
  napi_create_typedarray(env, napi_int32_array, counts.size(), cab, 0, &carr);
  napi_value obj;
  napi_create_object(env, &obj);
  napi_set_named_property(env, obj, "buffer", buffer);
  napi_set_named_property(env, obj, "counts", carr);
  return obj;
}

template <size_t N>
bool Args(napi_env env, napi_callback_info info, napi_value (&argv)[N], size_t required) {
  size_t argc = N;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < required) return Throw(env, "expected " + std::to_string(required) + " argument(s)");
  return true;
}

// init() -> { rank, size, version }. Errors are returned (not fatal) so they become JS exceptions.
napi_value Init(napi_env env, napi_callback_info) {
  int init = 0;
  MPI_Initialized(&init);
  if (!init) {
    int provided = 0;
    if (!Check(env, MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread")) return nullptr;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  }
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int vlen = 0;
  MPI_Get_library_version(version, &vlen);
  std::string v(version, static_cast<size_t>(vlen));
  while (!v.empty() && (v.back() == '\n' || v.back() == '\0' || v.back() == ' ')) v.pop_back();
  char host[MPI_MAX_PROCESSOR_NAME];
  int hlen = 0;
  MPI_Get_processor_name(host, &hlen);
  napi_value obj, s, h;
  napi_create_object(env, &obj);
  napi_set_named_property(env, obj, "rank", Int(env, WorldRank()));
  napi_set_named_property(env, obj, "size", Int(env, WorldSize()));
  napi_create_string_utf8(env, v.c_str(), v.size(), &s);
  napi_set_named_property(env, obj, "version", s);
  napi_create_string_utf8(env, host, static_cast<size_t>(hlen), &h);
  napi_set_named_property(env, obj, "host", h);
  return obj;
}

napi_value Finalize(napi_env env, napi_callback_info) {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (init && !fin && !Check(env, MPI_Finalize(), "MPI_Finalize")) return nullptr;
  return Undefined(env);
}

napi_value Rank(napi_env env, napi_callback_info) {
  if (!Initialized(env)) return nullptr;
  return Int(env, WorldRank());
}

napi_value Size(napi_env env, napi_callback_info) {
  if (!Initialized(env)) return nullptr;
  return Int(env, WorldSize());
}

napi_value Barrier(napi_env env, napi_callback_info) {
  if (!Initialized(env) || !Check(env, MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier")) return nullptr;
  return Undefined(env);
}

// allreduceSum(Float64Array) -> ArrayBuffer with the element-wise sum over ranks (MPI's own reduction order).
napi_value AllreduceSum(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!Initialized(env) || !Args(env, info, argv, 1)) return nullptr;
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void* data = nullptr;
  napi_value ab;
  bool is = false;
  napi_is_typedarray(env, argv[0], &is);
  if (!is || napi_get_typedarray_info(env, argv[0], &type, &length, &data, &ab, &offset) != napi_ok || type != napi_float64_array) {
    Throw(env, "allreduceSum: argument must be a Float64Array");
    return nullptr;
  }
  if (!CountFits(env, length, "allreduceSum")) return nullptr;
  uint8_t* out = nullptr;
  napi_value res = NewBuffer(env, length * 8, &out);
  if (!Check(env, MPI_Allreduce(data, out, static_cast<int>(length), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce")) return nullptr;
  return res;
}

// bcast(typedArray, root): in place; every rank passes an array of the same byte length.
napi_value Bcast(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Bytes b;
  int root = 0;
  if (!Initialized(env) || !Args(env, info, argv, 2) || !GetBytes(env, argv[0], &b, "bcast: buffer") ||
      !GetInt(env, argv[1], &root, "bcast: root") || !CountFits(env, b.length, "bcast")) return nullptr;
  if (root < 0 || root >= WorldSize()) { Throw(env, "bcast: root out of range"); return nullptr; }
  if (!Check(env, MPI_Bcast(b.data, static_cast<int>(b.length), MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast")) return nullptr;
  return Undefined(env);
}

// allgather(typedArray) -> ArrayBuffer(size * bytes), rank order; every rank passes the same byte length.
napi_value Allgather(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Bytes b;
  if (!Initialized(env) || !Args(env, info, argv, 1) || !GetBytes(env, argv[0], &b, "allgather: buffer")) return nullptr;
  const int size = WorldSize();
  if (!CountFits(env, b.length * static_cast<size_t>(size), "allgather")) return nullptr;
  uint8_t* out = nullptr;
  napi_value res = NewBuffer(env, b.length * static_cast<size_t>(size), &out);
  if (!Check(env, MPI_Allgather(b.data, static_cast<int>(b.length), MPI_BYTE, out, static_cast<int>(b.length), MPI_BYTE, MPI_COMM_WORLD), "MPI_Allgather")) return nullptr;
  return res;
}

// Byte counts of every rank's contribution (allgather of one int).
bool GatherCounts(napi_env env, size_t bytes, std::vector<int>* counts, std::vector<int>* displs, size_t* total) {
  const int size = WorldSize();
  int mine = static_cast<int>(bytes);
  counts->assign(static_cast<size_t>(size), 0);
  if (!Check(env, MPI_Allgather(&mine, 1, MPI_INT, counts->data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather(counts)")) return false;
  displs->assign(static_cast<size_t>(size), 0);
  size_t t = 0;
  for (int r = 0; r < size; r++) {
    (*displs)[static_cast<size_t>(r)] = static_cast<int>(t);
    t += static_cast<size_t>((*counts)[static_cast<size_t>(r)]);
    if (t > static_cast<size_t>(INT_MAX)) return Throw(env, "gather: more than 2 GiB in one call");
  }
  *total = t;
  return true;
}

// allgatherv(typedArray) -> { buffer, counts }: every rank's bytes concatenated in rank order.
napi_value Allgatherv(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Bytes b;
  if (!Initialized(env) || !Args(env, info, argv, 1) || !GetBytes(env, argv[0], &b, "allgatherv: buffer") ||
      !CountFits(env, b.length, "allgatherv")) return nullptr;
  std::vector<int> counts, displs;
  size_t total = 0;
  if (!GatherCounts(env, b.length, &counts, &displs, &total)) return nullptr;
  uint8_t* out = nullptr;
  napi_value res = NewBuffer(env, total, &out);
  if (!Check(env, MPI_Allgatherv(b.data, static_cast<int>(b.length), MPI_BYTE, out, counts.data(), displs.data(), MPI_BYTE, MPI_COMM_WORLD), "MPI_Allgatherv")) return nullptr;
  return BufferWithCounts(env, res, counts);
}

// gatherv(typedArray, root) -> { buffer, counts } on root, null elsewhere.
napi_value Gatherv(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Bytes b;
  int root = 0;
  if (!Initialized(env) || !Args(env, info, argv, 2) || !GetBytes(env, argv[0], &b, "gatherv: buffer") ||
      !GetInt(env, argv[1], &root, "gatherv: root") || !CountFits(env, b.length, "gatherv")) return nullptr;
  if (root < 0 || root >= WorldSize()) { Throw(env, "gatherv: root out of range"); return nullptr; }
  std::vector<int> counts, displs;
  size_t total = 0;
  if (!GatherCounts(env, b.length, &counts, &displs, &total)) return nullptr;
  const bool isRoot = WorldRank() == root;
  uint8_t* out = nullptr;
  napi_value res = isRoot ? NewBuffer(env, total, &out) : nullptr;
  if (!Check(env, MPI_Gatherv(b.data, static_cast<int>(b.length), MPI_BYTE, out, counts.data(), displs.data(), MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Gatherv")) return nullptr;
  if (!isRoot) {
    napi_value nul;
    napi_get_null(env, &nul);
    return nul;
  }
  return BufferWithCounts(env, res, counts);
}

// alltoallv(typedArray, sendCounts: Int32Array of bytes per destination rank, consecutive in rank order)
//   -> { buffer, counts }: the bytes every rank sent to this one, in source rank order.
napi_value Alltoallv(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Bytes b, c;
  if (!Initialized(env) || !Args(env, info, argv, 2) || !GetBytes(env, argv[0], &b, "alltoallv: buffer") ||
      !GetBytes(env, argv[1], &c, "alltoallv: sendCounts")) return nullptr;
  const int size = WorldSize();
  if (c.length != static_cast<size_t>(size) * sizeof(int)) { Throw(env, "alltoallv: sendCounts must be an Int32Array of length size()"); return nullptr; }
  std::vector<int> sendCounts(static_cast<size_t>(size)), sendDispls(static_cast<size_t>(size));
  std::memcpy(sendCounts.data(), c.data, c.length);
  size_t t = 0;
  for (int r = 0; r < size; r++) {
    const int n = sendCounts[static_cast<size_t>(r)];
    if (n < 0) { Throw(env, "alltoallv: negative send count"); return nullptr; }
    sendDispls[static_cast<size_t>(r)] = static_cast<int>(t);
    t += static_cast<size_t>(n);
  }
  if (t != b.length) { Throw(env, "alltoallv: sendCounts sum (" + std::to_string(t) + ") != buffer bytes (" + std::to_string(b.length) + ")"); return nullptr; }
  if (!CountFits(env, t, "alltoallv")) return nullptr;
  std::vector<int> recvCounts(static_cast<size_t>(size)), recvDispls(static_cast<size_t>(size));
  if (!Check(env, MPI_Alltoall(sendCounts.data(), 1, MPI_INT, recvCounts.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Alltoall(counts)")) return nullptr;
  size_t total = 0;
  for (int r = 0; r < size; r++) {
    recvDispls[static_cast<size_t>(r)] = static_cast<int>(total);
    total += static_cast<size_t>(recvCounts[static_cast<size_t>(r)]);
  }
  if (!CountFits(env, total, "alltoallv")) return nullptr;
  uint8_t* out = nullptr;
  napi_value res = NewBuffer(env, total, &out);
  if (!Check(env, MPI_Alltoallv(b.data, sendCounts.data(), sendDispls.data(), MPI_BYTE, out, recvCounts.data(), recvDispls.data(), MPI_BYTE, MPI_COMM_WORLD), "MPI_Alltoallv")) return nullptr;
  return BufferWithCounts(env, res, recvCounts);
}

// abort(code): MPI_Abort(MPI_COMM_WORLD): the launcher kills every rank.
napi_value Abort(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int code = 1;
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc >= 1) napi_get_value_int32(env, argv[0], &code);
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (init && !fin) MPI_Abort(MPI_COMM_WORLD, code);
  return Undefined(env);
}

napi_value Wtime(napi_env env, napi_callback_info) {
  napi_value r;
  napi_create_double(env, MPI_Wtime(), &r);
  return r;
}

}  // namespace

NAPI_MODULE_INIT() {
  const napi_property_descriptor props[] = {
    {"init", nullptr, Init, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"finalize", nullptr, Finalize, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"rank", nullptr, Rank, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"size", nullptr, Size, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"barrier", nullptr, Barrier, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"allreduceSum", nullptr, AllreduceSum, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"bcast", nullptr, Bcast, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"allgather", nullptr, Allgather, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"allgatherv", nullptr, Allgatherv, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"gatherv", nullptr, Gatherv, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"alltoallv", nullptr, Alltoallv, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"abort", nullptr, Abort, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"wtime", nullptr, Wtime, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}
