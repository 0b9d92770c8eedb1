"""The pages people open (home, the share link, its host link), the participant panel and ``/metrics``."""
