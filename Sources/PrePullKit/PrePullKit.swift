public enum PrePullKit {}
