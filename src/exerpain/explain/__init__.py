"""Explanation: Shapley attribution of the exercise benefit to mechanisms, and endotypes."""
