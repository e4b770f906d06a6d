"""Tolerances shared by several test modules (imported as ``from tolerances import ...``: a second
conftest.py, book's, makes ``from conftest import`` ambiguous when both folders are tested)."""

# The same float32 network on another number of rows: a matrix product of 7 rows may take another
# CPU kernel than one of 5,000, and which kernels exist depends on the CPU (AVX-512 or AVX2), so
# the sums of several hundred products come out in another order. Bit-for-bit equality held on
# one AMD EPYC and not on another (up to 3.6e-7 apart on latent means of size 0.4, 1.8e-7 on
# probabilities near 1): such comparisons use this float32 reordering tolerance instead.
FLOAT32_REORDERED = {"rtol": 1e-5, "atol": 1e-6}
