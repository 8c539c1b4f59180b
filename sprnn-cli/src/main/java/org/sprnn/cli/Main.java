package org.sprnn.cli;

/** Entry point of the sprnn command-line tool. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        System.out.println("sprnn (bootstrap)");
    }
}
