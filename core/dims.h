// Dims: the sizes or strides of a tensor, int64 elements held inline up to
// kInlineDims of them (every tensor of the workloads has at most 5 dims) and
// on the heap beyond, so that making a tensor, broadcasting two shapes or
// computing contiguous strides allocates nothing. A vector-like container
// with std::vector<std::int64_t>'s interface where the library and its users
// call it; it converts to and from std::vector<std::int64_t> implicitly.
#pragma once

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <stdexcept>
#include <vector>

namespace redes {

class Dims {
 public:
  using value_type = std::int64_t;
  using size_type = std::size_t;
  using difference_type = std::ptrdiff_t;
  using reference = std::int64_t&;
  using const_reference = const std::int64_t&;
  using pointer = std::int64_t*;
  using const_pointer = const std::int64_t*;
  using iterator = std::int64_t*;
  using const_iterator = const std::int64_t*;
  using reverse_iterator = std::reverse_iterator<iterator>;
  using const_reverse_iterator = std::reverse_iterator<const_iterator>;

  static constexpr size_type kInlineDims = 6;

  Dims() noexcept = default;
  Dims(std::initializer_list<std::int64_t> values) { assign(values.begin(), values.end()); }
  explicit Dims(size_type count, std::int64_t value = 0) { assign(count, value); }
  template <std::input_iterator It>
  Dims(It first, It last) {
    assign(first, last);
  }
  Dims(const std::vector<std::int64_t>& values) { assign(values.begin(), values.end()); }  // NOLINT: implicit
  Dims(const Dims& other) { assign(other.begin(), other.end()); }
  Dims(Dims&& other) noexcept { take(other); }
  Dims& operator=(const Dims& other) {
    if (this != &other) assign(other.begin(), other.end());
    return *this;
  }
  Dims& operator=(Dims&& other) noexcept {
    if (this != &other) {
      release();
      take(other);
    }
    return *this;
  }
  Dims& operator=(std::initializer_list<std::int64_t> values) {
    assign(values.begin(), values.end());
    return *this;
  }
  ~Dims() { release(); }

  operator std::vector<std::int64_t>() const { return {begin(), end()}; }  // NOLINT: implicit

  size_type size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  size_type capacity() const noexcept { return capacity_; }
  std::int64_t* data() noexcept { return heap_ != nullptr ? heap_ : inline_; }
  const std::int64_t* data() const noexcept { return heap_ != nullptr ? heap_ : inline_; }

  std::int64_t& operator[](size_type i) { return data()[i]; }
  const std::int64_t& operator[](size_type i) const { return data()[i]; }
  std::int64_t& at(size_type i) {
    check(i);
    return data()[i];
  }
  const std::int64_t& at(size_type i) const {
    check(i);
    return data()[i];
  }
  std::int64_t& front() { return data()[0]; }
  const std::int64_t& front() const { return data()[0]; }
  std::int64_t& back() { return data()[size_ - 1]; }
  const std::int64_t& back() const { return data()[size_ - 1]; }

  iterator begin() noexcept { return data(); }
  iterator end() noexcept { return data() + size_; }
  const_iterator begin() const noexcept { return data(); }
  const_iterator end() const noexcept { return data() + size_; }
  const_iterator cbegin() const noexcept { return begin(); }
  const_iterator cend() const noexcept { return end(); }
  reverse_iterator rbegin() noexcept { return reverse_iterator(end()); }
  reverse_iterator rend() noexcept { return reverse_iterator(begin()); }
  const_reverse_iterator rbegin() const noexcept { return const_reverse_iterator(end()); }
  const_reverse_iterator rend() const noexcept { return const_reverse_iterator(begin()); }

  void reserve(size_type count) {
    if (count > capacity_) grow(count);
  }
  void resize(size_type count, std::int64_t value = 0) {
    reserve(count);
    std::fill(data() + std::min(size_, count), data() + count, value);
    size_ = count;
  }
  void clear() noexcept { size_ = 0; }
  void push_back(std::int64_t value) {
    if (size_ == capacity_) grow(2 * capacity_);
    data()[size_++] = value;
  }
  std::int64_t& emplace_back(std::int64_t value) {
    push_back(value);
    return back();
  }
  void pop_back() { --size_; }

  template <std::input_iterator It>
  void assign(It first, It last) {
    clear();
    for (; first != last; ++first) push_back(static_cast<std::int64_t>(*first));
  }
  void assign(size_type count, std::int64_t value) {
    clear();
    resize(count, value);
  }
  void assign(std::initializer_list<std::int64_t> values) { assign(values.begin(), values.end()); }

  iterator insert(const_iterator position, std::int64_t value) { return insert(position, size_type{1}, value); }
  iterator insert(const_iterator position, size_type count, std::int64_t value) {
    const auto at = static_cast<size_type>(position - begin());
    open_gap(at, count);
    std::fill(data() + at, data() + at + count, value);
    return data() + at;
  }
  template <std::input_iterator It>
  iterator insert(const_iterator position, It first, It last) {
    const auto at = static_cast<size_type>(position - begin());
    const Dims values(first, last);  // `first` may point into this container
    open_gap(at, values.size());
    std::copy(values.begin(), values.end(), data() + at);
    return data() + at;
  }
  iterator insert(const_iterator position, std::initializer_list<std::int64_t> values) {
    return insert(position, values.begin(), values.end());
  }
  iterator erase(const_iterator position) { return erase(position, position + 1); }
  iterator erase(const_iterator first, const_iterator last) {
    const auto at = static_cast<size_type>(first - begin());
    const auto count = static_cast<size_type>(last - first);
    std::copy(data() + at + count, data() + size_, data() + at);
    size_ -= count;
    return data() + at;
  }

  friend bool operator==(const Dims& a, const Dims& b) noexcept {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
  friend std::strong_ordering operator<=>(const Dims& a, const Dims& b) noexcept {
    return std::lexicographical_compare_three_way(a.begin(), a.end(), b.begin(), b.end());
  }
  friend bool operator==(const Dims& a, const std::vector<std::int64_t>& b) noexcept {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  void check(size_type i) const {
    if (i >= size_) throw std::out_of_range("Dims::at: index out of range");
  }
  void grow(size_type count) {
    auto* bigger = new std::int64_t[count];
    std::copy(begin(), end(), bigger);
    delete[] heap_;
    heap_ = bigger;
    capacity_ = count;
  }
  // Moves elements [at, size) up by `count`, growing as needed.
  void open_gap(size_type at, size_type count) {
    reserve(size_ + count);
    std::copy_backward(data() + at, data() + size_, data() + size_ + count);
    size_ += count;
  }
  void release() noexcept {
    delete[] heap_;
    heap_ = nullptr;
    capacity_ = kInlineDims;
    size_ = 0;
  }
  void take(Dims& other) noexcept {
    if (other.heap_ != nullptr) {
      heap_ = other.heap_;
      capacity_ = other.capacity_;
      other.heap_ = nullptr;
      other.capacity_ = kInlineDims;
    } else {
      std::copy(other.inline_, other.inline_ + other.size_, inline_);
    }
    size_ = other.size_;
    other.size_ = 0;
  }

  std::int64_t inline_[kInlineDims] = {};
  std::int64_t* heap_ = nullptr;
  size_type size_ = 0;
  size_type capacity_ = kInlineDims;
};

}  // namespace redes
