//! Pulling from department databases.
